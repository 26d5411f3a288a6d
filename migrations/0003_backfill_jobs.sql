-- Backfill jobs (`tessera backfill`): what each run recomputes and how far it got, so an
-- interrupted run resumes at its first unfinished chunk and `tessera backfill status`
-- lists them all.

create table tessera.backfill_jobs (
    id            bigserial   primary key,
    -- Stream views rebuilt, and the features asked for (empty = every feature).
    views         text[]      not null,
    features      text[]      not null default '{}',
    -- Event-time range whose tiles are rebuilt; null for `--all` (every tile a window reads).
    from_time     timestamptz,
    to_time       timestamptz,
    rebuild_all   boolean     not null default false,
    status        text        not null default 'planned'
                  check (status in ('planned', 'running', 'interrupted', 'failed', 'done')),
    chunks_total  integer     not null default 0,
    chunks_done   integer     not null default 0,
    entities_total bigint     not null default 0,
    entities_done bigint      not null default 0,
    events_done   bigint      not null default 0,
    -- Who runs it now (host and pid), and why it stopped when it failed.
    runner        text,
    last_error    text,
    created_at    timestamptz not null default now(),
    started_at    timestamptz,
    updated_at    timestamptz not null default now(),
    finished_at   timestamptz
);

-- A job's work, cut by entity: each chunk is a contiguous range of entity keys of one view,
-- written to Redis as a whole and then marked done.
create table tessera.backfill_chunks (
    job_id     bigint      not null references tessera.backfill_jobs (id) on delete cascade,
    chunk      integer     not null,
    view       text        not null,
    -- The first and last entity key (join-key values joined by U+001F, as in Redis keys).
    first_key  text        not null,
    last_key   text        not null,
    entities   integer     not null,
    events     bigint      not null,
    done_at    timestamptz,
    primary key (job_id, chunk)
);
