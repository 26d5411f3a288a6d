-- Feature snapshots: every snapshots.interval the daemon writes the vectors of the
-- entities that changed since the last run, with the time it read them from Redis, so
-- this table is the history of what the lookup API served.
-- Applied by `tessera migrate`; the migrator wraps this file in a transaction.

create table tessera.feature_snapshots (
    view            text        not null,
    -- The join keys and their values, e.g. {"query": "shoes", "product_id": "p-42"}.
    entity          jsonb       not null,
    -- When the snapshotter read the vector from Redis: it was served at that time.
    as_of           timestamptz not null,
    -- When the vector was computed (an apply or a window slide) and the event time of
    -- the entity's newest event, from the vector's header.
    computed_at     timestamptz not null,
    newest_event_at timestamptz not null,
    -- {feature name: value}; null where the online value is none (an empty min/max/last).
    features        jsonb       not null
) partition by range (as_of);

-- History of one entity: where view = V and entity = E order by as_of.
-- Vectors as of T: the latest row per entity with as_of <= T (distinct on (entity)),
-- which the same index answers in (view, entity, as_of desc) order.
create index feature_snapshots_entity_history on tessera.feature_snapshots (view, entity, as_of);
-- What changed in a time range, per view.
create index feature_snapshots_view_time on tessera.feature_snapshots (view, as_of);

-- Catches rows for days without a partition yet; ensure_daily_partitions moves them out.
create table tessera.feature_snapshots_default partition of tessera.feature_snapshots default;

-- Creates tessera.<parent>_YYYYMMDD for each UTC day from from_day to to_day (both
-- included) that has none yet, as a partition of tessera.<parent> by range of
-- time_column, and returns how many it created: ensure_event_partitions (0001) made
-- general for any table partitioned by UTC day with a <parent>_default partition. Call it
-- in its own short transaction (a creator holds its lock and the default partition until
-- its transaction ends). Safe under concurrent callers, as that one.
create function tessera.ensure_daily_partitions(parent text, time_column text, from_day date, to_day date)
returns integer language plpgsql as $$
declare
    day date;
    partition_name text;
    lower_bound text;
    upper_bound text;
    created integer := 0;
begin
    if from_day is null or to_day is null or from_day > to_day then
        raise exception 'ensure_daily_partitions: need from_day <= to_day, got % and %', from_day, to_day
            using errcode = 'invalid_parameter_value';
    end if;
    for day_number in 0 .. to_day - from_day loop
        day := from_day + day_number;
        partition_name := parent || '_' || to_char(day, 'YYYYMMDD');
        continue when to_regclass(format('tessera.%I', partition_name)) is not null;
        perform pg_advisory_xact_lock(hashtext('tessera.ensure_daily_partitions:' || parent));
        continue when to_regclass(format('tessera.%I', partition_name)) is not null;
        lower_bound := to_char(day, 'YYYY-MM-DD') || ' 00:00:00+00';
        upper_bound := to_char(day + 1, 'YYYY-MM-DD') || ' 00:00:00+00';
        begin
            execute format('create table tessera.%I (like tessera.%I including defaults including constraints)',
                           partition_name, parent);
            execute format('with moved as (delete from tessera.%I where %I >= %L and %I < %L returning *)'
                           ' insert into tessera.%I select * from moved',
                           parent || '_default', time_column, lower_bound, time_column, upper_bound, partition_name);
            execute format('alter table tessera.%I attach partition tessera.%I for values from (%L) to (%L)',
                           parent, partition_name, lower_bound, upper_bound);
            created := created + 1;
        exception when duplicate_table then
            null;  -- another caller made it first
        end;
    end loop;
    return created;
end;
$$;

-- One copy of the logic: the event log's partitions come from the general function too
-- (same partition names, bounds, errors and default-partition hand-over).
create or replace function tessera.ensure_event_partitions(from_day date, to_day date) returns integer
language sql as $$ select tessera.ensure_daily_partitions('events', 'event_time', from_day, to_day) $$;
