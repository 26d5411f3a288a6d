-- Batch feature views (`tessera materialize`): how far each view has read its source.
-- A run reads rows with a timestamp at or after (watermark - the view's lookback), writes
-- the latest row per entity to Redis, then moves the watermark to the newest timestamp it
-- read. The layout fingerprint is the view's definition when the watermark was set: after
-- a config change the watermark no longer applies and the next run reads the whole source.

create schema if not exists tessera;

create table tessera.batch_view_watermarks (
    view_name          text        primary key,
    layout_fingerprint bigint      not null,
    watermark          timestamptz not null,
    updated_at         timestamptz not null default now()
);
