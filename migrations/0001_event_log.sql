-- The offline event log (DESIGN.md "Exactly-once offline"): every valid event, COPYed
-- in the same transaction as the consumer's offset row, so a replay never adds it twice.
-- Applied by `tessera migrate`; the migrator wraps this file in a transaction.

create schema if not exists tessera;

-- Partitioned by UTC day of event time: backfills and training sets scan only the days
-- they need, and old days can be detached or dropped whole.
create table tessera.events (
    event_id         text             not null,
    event_type       text             not null,
    event_time       timestamptz      not null,
    user_id          text             not null,
    product_id       text             not null,
    session_id       text,
    query            text,
    position         bigint,
    price            double precision,
    quantity         bigint           not null,
    -- The event as received, so fields this version does not know are kept.
    payload          jsonb            not null,
    source_partition integer          not null,
    source_offset    bigint           not null,
    ingested_at      timestamptz      not null default now()
) partition by range (event_time);

-- Created on the parent, so every partition gets them, present and future.
create index events_product_time on tessera.events (product_id, event_time);
create index events_user_time on tessera.events (user_id, event_time);

-- Catches rows for days without a partition yet; ensure_event_partitions moves them out
-- when it creates their day.
create table tessera.events_default partition of tessera.events default;

-- Creates tessera.events_YYYYMMDD for each UTC day from from_day to to_day (both
-- included) that has none yet, and returns how many it created. Cheap when they all
-- exist, so the offline writer can call it for the days of every batch; call it in its
-- own short transaction before the COPY transaction, since a creator holds its lock and
-- the default partition until its transaction ends. Safe under concurrent callers:
-- creators take turns on an advisory lock, and duplicate_table is caught as a last resort.
create function tessera.ensure_event_partitions(from_day date, to_day date) returns integer
language plpgsql as $$
declare
    day date;
    partition_name text;
    lower_bound text;
    upper_bound text;
    created integer := 0;
begin
    if from_day is null or to_day is null or from_day > to_day then
        raise exception 'ensure_event_partitions: need from_day <= to_day, got % and %', from_day, to_day
            using errcode = 'invalid_parameter_value';
    end if;
    for day_number in 0 .. to_day - from_day loop
        day := from_day + day_number;
        partition_name := 'events_' || to_char(day, 'YYYYMMDD');
        continue when to_regclass(format('tessera.%I', partition_name)) is not null;
        -- Held to the end of the caller's transaction, so the next creator sees this one's tables.
        perform pg_advisory_xact_lock(hashtext('tessera.ensure_event_partitions'));
        continue when to_regclass(format('tessera.%I', partition_name)) is not null;
        -- UTC days whatever the session's time zone or date style.
        lower_bound := to_char(day, 'YYYY-MM-DD') || ' 00:00:00+00';
        upper_bound := to_char(day + 1, 'YYYY-MM-DD') || ' 00:00:00+00';
        begin
            -- Create, fill with the day's rows that went to the default partition, then
            -- attach: creating it directly as a partition would fail while the default
            -- partition holds rows of that day.
            execute format('create table tessera.%I (like tessera.events including defaults including constraints)',
                           partition_name);
            execute format('with moved as (delete from tessera.events_default'
                           ' where event_time >= %L and event_time < %L returning *)'
                           ' insert into tessera.%I select * from moved', lower_bound, upper_bound, partition_name);
            execute format('alter table tessera.events attach partition tessera.%I for values from (%L) to (%L)',
                           partition_name, lower_bound, upper_bound);
            created := created + 1;
        exception when duplicate_table then
            null;  -- another caller made it first
        end;
    end loop;
    return created;
end;
$$;

-- Where each offline consumer group stands in each partition: the next offset to read.
-- Written in the same transaction as the events COPY; the consumer seeks here on start.
create table tessera.consumer_offsets (
    consumer_group text        not null,
    topic          text        not null,
    partition      integer     not null,
    next_offset    bigint      not null,
    updated_at     timestamptz not null default now(),
    primary key (consumer_group, topic, partition)
);
