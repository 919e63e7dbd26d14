-- Migration 000006 (issue 12, scale): sampling indexes and frozen baselines.

-- Window sampling at the cost of the sample (packages/core/src/db/repo/windows.ts): per model
-- and UTC day, entries ordered by sample_key, so a sample reads one short key range per day
-- of the window and nothing of the rest of the history. ts and id are included so the range
-- scan applies the time filter and returns ids without visiting the table.
CREATE INDEX IF NOT EXISTS embeddings_log_sample
  ON embeddings_log (model, source, ((ts AT TIME ZONE 'UTC')::date), sample_key) INCLUDE (ts, id);
CREATE INDEX IF NOT EXISTS interaction_log_sample
  ON interaction_log (model, ((ts AT TIME ZONE 'UTC')::date), sample_key) INCLUDE (ts, id);

-- A frozen baseline: one monitor's reference sample and figures for a model, taken once from
-- [window_start, window_end) and reused by every run until replaced (`driftwatch baseline
-- freeze`). embedding: the sampled vectors (float4, row-major, little-endian) in `vectors`;
-- behavior: the sampled interactions in `data`; accuracy: the aggregated AccuracyWindow in
-- `data`. At most one baseline per (model, monitor) is in force (replaced_at IS NULL).
CREATE TABLE IF NOT EXISTS baselines (
  id           bigserial PRIMARY KEY,
  model        text        NOT NULL,
  monitor      text        NOT NULL CHECK (monitor IN ('embedding', 'behavior', 'accuracy')),
  window_start timestamptz NOT NULL,
  window_end   timestamptz NOT NULL,
  n            integer     NOT NULL,
  dim          integer,
  vectors      bytea,
  data         jsonb       NOT NULL DEFAULT '{}'::jsonb,
  seed         integer     NOT NULL DEFAULT 0,
  created_at   timestamptz NOT NULL DEFAULT now(),
  replaced_at  timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS baselines_in_force ON baselines (model, monitor) WHERE replaced_at IS NULL;

-- Which frozen baseline a monitor run compared with (NULL: the rolling baseline window).
ALTER TABLE drift_runs ADD COLUMN IF NOT EXISTS baseline_id bigint REFERENCES baselines (id);
