-- Driftwatch: the whole current schema, for those who apply it with `psql < sql/schema.sql`.
-- `driftwatch migrate` applies the numbered files beside it (000001_*.sql, ...) instead, each once;
-- a test checks that this file and those migrations, applied in order, give the same schema.
-- Runs unchanged on Postgres with pgvector and on embedded PGlite with its vector extension.
CREATE EXTENSION IF NOT EXISTS vector;

-- Every embedding the application computed (queries, responses). The dimension is
-- free per row so that models with different embedding sizes share the table;
-- `dim` keeps it queryable. sample_key is a uniform random number fixed at insert:
-- ORDER BY sample_key LIMIT n within a window is a uniform, reproducible sample.
CREATE TABLE IF NOT EXISTS embeddings_log (
  id             bigserial PRIMARY KEY,
  model          text        NOT NULL,
  ts             timestamptz NOT NULL DEFAULT now(),
  source         text        NOT NULL DEFAULT 'query' CHECK (source IN ('query', 'response', 'document')),
  interaction_id bigint,
  embedding      vector      NOT NULL,
  dim            integer     NOT NULL,
  sample_key     double precision NOT NULL DEFAULT random()
);
CREATE INDEX IF NOT EXISTS embeddings_log_window ON embeddings_log (model, source, ts) INCLUDE (sample_key);

-- Every interaction: what was asked, what came back, what it cost, how the user rated it.
CREATE TABLE IF NOT EXISTS interaction_log (
  id                bigserial PRIMARY KEY,
  model             text        NOT NULL,
  model_version     text,
  ts                timestamptz NOT NULL DEFAULT now(),
  query             text        NOT NULL,
  response          text        NOT NULL DEFAULT '',
  error             text,
  latency_ms        integer     CHECK (latency_ms IS NULL OR latency_ms >= 0),
  prompt_tokens     integer     CHECK (prompt_tokens IS NULL OR prompt_tokens >= 0),
  completion_tokens integer     CHECK (completion_tokens IS NULL OR completion_tokens >= 0),
  cost_usd          double precision CHECK (cost_usd IS NULL OR cost_usd >= 0),
  feedback_score    smallint    CHECK (feedback_score IS NULL OR feedback_score BETWEEN 1 AND 5),
  task_success      boolean,
  toxic             boolean,
  toxicity_score    real,
  sample_key        double precision NOT NULL DEFAULT random()
);
CREATE INDEX IF NOT EXISTS interaction_log_window ON interaction_log (model, ts) INCLUDE (sample_key);

-- Results of evaluation sets (and any labelled check): correct, or expected vs predicted.
-- `input` is the question asked; the fine-tune evaluation gate asks it of each candidate.
CREATE TABLE IF NOT EXISTS evaluation_log (
  id            bigserial PRIMARY KEY,
  model         text        NOT NULL,
  model_version text,
  ts            timestamptz NOT NULL DEFAULT now(),
  eval_set      text        NOT NULL DEFAULT 'default',
  item_id       text,
  input         text,
  expected      text,
  predicted     text,
  correct       boolean,
  score         real
);
CREATE INDEX IF NOT EXISTS evaluation_log_window ON evaluation_log (model, ts);

-- The retrieval corpus that re-indexing refreshes.
CREATE TABLE IF NOT EXISTS documents (
  id              bigserial PRIMARY KEY,
  model           text        NOT NULL,
  doc_key         text        NOT NULL,
  content         text        NOT NULL,
  content_hash    text        NOT NULL,
  embedding       vector,
  embedding_model text,
  indexed_hash    text,
  indexed_at      timestamptz,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (model, doc_key)
);
CREATE INDEX IF NOT EXISTS documents_stale ON documents (model) WHERE indexed_hash IS DISTINCT FROM content_hash;

-- One row per monitor per pipeline run: window, figures, verdict.
CREATE TABLE IF NOT EXISTS drift_runs (
  id             bigserial PRIMARY KEY,
  run_id         text        NOT NULL,
  model          text        NOT NULL,
  monitor        text        NOT NULL CHECK (monitor IN ('embedding', 'behavior', 'accuracy')),
  status         text        NOT NULL CHECK (status IN ('drift', 'no_drift', 'insufficient_data')),
  score          double precision NOT NULL,
  severity       text        NOT NULL CHECK (severity IN ('none', 'moderate', 'significant')),
  p_value        double precision,
  n_baseline     integer     NOT NULL,
  n_current      integer     NOT NULL,
  baseline_start timestamptz NOT NULL,
  baseline_end   timestamptz NOT NULL,
  current_start  timestamptz NOT NULL,
  current_end    timestamptz NOT NULL,
  result         jsonb       NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (run_id, monitor)
);
CREATE INDEX IF NOT EXISTS drift_runs_model_time ON drift_runs (model, created_at DESC);

-- What the trigger decided, why, and what became of it. dedup_key (model, action,
-- current window) makes a replayed trigger unable to decide the same action twice.
CREATE TABLE IF NOT EXISTS decisions (
  id           bigserial PRIMARY KEY,
  run_id       text        NOT NULL,
  model        text        NOT NULL,
  action       text        NOT NULL CHECK (action IN ('reindex', 'finetune', 'safety')),
  state        text        NOT NULL CHECK (state IN ('queued', 'awaiting_approval', 'running', 'succeeded', 'failed', 'skipped', 'rejected')),
  priority     integer     NOT NULL DEFAULT 0,
  reason       text        NOT NULL,
  dedup_key    text        NOT NULL UNIQUE,
  window_start timestamptz NOT NULL,
  window_end   timestamptz NOT NULL,
  details      jsonb       NOT NULL DEFAULT '{}'::jsonb,
  result       jsonb,
  decided_by   text,
  decided_at   timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS decisions_model_action_time ON decisions (model, action, created_at DESC);
CREATE INDEX IF NOT EXISTS decisions_state ON decisions (state, created_at DESC);

-- The model registry: every candidate a fine-tune produced, and which one serves.
CREATE TABLE IF NOT EXISTS model_versions (
  id                bigserial PRIMARY KEY,
  model             text        NOT NULL,
  version           text        NOT NULL,
  provider          text        NOT NULL,
  provider_model_id text,
  base_model        text,
  status            text        NOT NULL CHECK (status IN ('training', 'candidate', 'promoted', 'rejected', 'retired', 'failed')),
  decision_id       bigint      REFERENCES decisions (id),
  eval_accuracy     double precision,
  baseline_accuracy double precision,
  details           jsonb       NOT NULL DEFAULT '{}'::jsonb,
  created_at        timestamptz NOT NULL DEFAULT now(),
  promoted_at       timestamptz,
  UNIQUE (model, version)
);
-- At most one promoted version per model.
CREATE UNIQUE INDEX IF NOT EXISTS model_versions_one_promoted ON model_versions (model) WHERE status = 'promoted';

-- Safety filter settings, one row per change; the newest row of a model is in force.
CREATE TABLE IF NOT EXISTS safety_policies (
  id                   bigserial PRIMARY KEY,
  model                text        NOT NULL,
  moderation_threshold double precision NOT NULL CHECK (moderation_threshold > 0 AND moderation_threshold <= 1),
  system_prompt        text        NOT NULL DEFAULT '',
  blocked_terms        jsonb       NOT NULL DEFAULT '[]'::jsonb,
  decision_id          bigint      REFERENCES decisions (id),
  created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS safety_policies_model_time ON safety_policies (model, created_at DESC);

-- ---------------------------------------------------------------------------
-- 000002 (issue 8): API keys, serving state (rollback), gateway interactions
-- ---------------------------------------------------------------------------

-- API keys: only a SHA-256 of each key is stored; key_prefix lets a person recognise it.
CREATE TABLE IF NOT EXISTS api_keys (
  id           bigserial PRIMARY KEY,
  name         text        NOT NULL,
  scope        text        NOT NULL CHECK (scope IN ('ingest', 'admin')),
  key_prefix   text        NOT NULL,
  key_hash     text        NOT NULL UNIQUE,
  created_by   text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at   timestamptz
);

-- A rollback (model version or safety policy) is a decision like any other.
ALTER TABLE decisions DROP CONSTRAINT IF EXISTS decisions_action_check;
ALTER TABLE decisions ADD CONSTRAINT decisions_action_check CHECK (action IN ('reindex', 'finetune', 'safety', 'rollback'));

-- A version that was rolled back is kept as rolled_back.
ALTER TABLE model_versions DROP CONSTRAINT IF EXISTS model_versions_status_check;
ALTER TABLE model_versions ADD CONSTRAINT model_versions_status_check
  CHECK (status IN ('training', 'candidate', 'promoted', 'rejected', 'retired', 'failed', 'rolled_back'));

-- A policy row a rollback wrote names the version it restores (details.restores_version).
ALTER TABLE safety_policies ADD COLUMN IF NOT EXISTS details jsonb NOT NULL DEFAULT '{}'::jsonb;

-- Gateway traffic: blocked = the safety policy replaced the answer; source = 'gateway'.
ALTER TABLE interaction_log ADD COLUMN IF NOT EXISTS blocked boolean;
ALTER TABLE interaction_log ADD COLUMN IF NOT EXISTS source text;

-- ---------------------------------------------------------------------------
-- 000003 (issue 10): idempotent ingest, held feedback, computed embeddings, document metadata
-- ---------------------------------------------------------------------------

-- Every event POST /v1/ingest (SDK, CLI import, OTLP) stored, by the client's event id:
-- the same id again is a duplicate (same body_hash) or a conflict (another body). The
-- primary key makes this hold across scheduler replicas. row_id: the row it created.
CREATE TABLE IF NOT EXISTS ingest_events (
  event_id   text        PRIMARY KEY CHECK (length(event_id) BETWEEN 1 AND 128),
  type       text        NOT NULL CHECK (type IN ('interaction', 'embedding', 'evaluation', 'feedback', 'document')),
  body_hash  text        NOT NULL,
  row_id     bigint,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- The client's event id of an interaction, so feedback and GET /v1/interactions/:id can name it.
ALTER TABLE interaction_log ADD COLUMN IF NOT EXISTS event_id text;
CREATE UNIQUE INDEX IF NOT EXISTS interaction_log_event_id ON interaction_log (event_id) WHERE event_id IS NOT NULL;
-- When feedback last changed feedback_score / task_success.
ALTER TABLE interaction_log ADD COLUMN IF NOT EXISTS feedback_at timestamptz;
-- Computed query embedding: pending (queued for the embed queue), done, failed (embed_error
-- says why), NULL = not asked for (the application sent one, or computing is off).
ALTER TABLE interaction_log ADD COLUMN IF NOT EXISTS embed_state text;
ALTER TABLE interaction_log DROP CONSTRAINT IF EXISTS interaction_log_embed_state_check;
ALTER TABLE interaction_log ADD CONSTRAINT interaction_log_embed_state_check CHECK (embed_state IS NULL OR embed_state IN ('pending', 'done', 'failed'));
ALTER TABLE interaction_log ADD COLUMN IF NOT EXISTS embed_error text;
CREATE INDEX IF NOT EXISTS interaction_log_embed_pending ON interaction_log (id) WHERE embed_state = 'pending';
CREATE INDEX IF NOT EXISTS embeddings_log_interaction ON embeddings_log (interaction_id) WHERE interaction_id IS NOT NULL;
-- Float vectors barely compress: store them out of line without trying (a 1,536-d vector is 6 KB).
ALTER TABLE embeddings_log ALTER COLUMN embedding SET STORAGE EXTERNAL;

-- Feedback for an interaction not stored yet: held until it arrives (applied) or until
-- expires_at (expired, reported by GET /v1/ingest/status). interaction_ref is the
-- Driftwatch id (digits) or the client's event id.
CREATE TABLE IF NOT EXISTS held_feedback (
  event_id        text        PRIMARY KEY,
  interaction_ref text        NOT NULL,
  score           smallint    CHECK (score IS NULL OR score BETWEEN 1 AND 5),
  task_success    boolean,
  received_at     timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL,
  state           text        NOT NULL DEFAULT 'held' CHECK (state IN ('held', 'applied', 'expired')),
  interaction_id  bigint,
  resolved_at     timestamptz
);
CREATE INDEX IF NOT EXISTS held_feedback_ref ON held_feedback (interaction_ref) WHERE state = 'held';
CREATE INDEX IF NOT EXISTS held_feedback_expiry ON held_feedback (expires_at) WHERE state = 'held';

-- The embedding dimension of each model and source (what one monitor window reads), fixed
-- by its first embedding: a later embedding of another dimension is rejected, naming both.
CREATE TABLE IF NOT EXISTS embedding_dims (
  model    text        NOT NULL,
  source   text        NOT NULL,
  dim      integer     NOT NULL CHECK (dim > 0),
  first_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model, source)
);

-- Documents sent as `document` events carry free metadata (source, url, title, ...).
ALTER TABLE documents ADD COLUMN IF NOT EXISTS metadata jsonb NOT NULL DEFAULT '{}'::jsonb;

-- ---------------------------------------------------------------------------
-- 000004 (issue 9): verification of promoted versions
-- ---------------------------------------------------------------------------
-- One verdict per promotion: the promoted version against the one it replaced, measured
-- on the interactions and evaluations each of them answered (split by model_version).
-- verdict: verified | regressed | insufficient_data (measured again by the next run);
-- rollback_decision_id: the rollback decision a regression caused (actions.auto_rollback).
CREATE TABLE IF NOT EXISTS model_verifications (
  id                   bigserial PRIMARY KEY,
  model                text        NOT NULL,
  version              text        NOT NULL,
  previous_version     text,
  promoted_at          timestamptz NOT NULL,
  verdict              text        NOT NULL CHECK (verdict IN ('verified', 'regressed', 'insufficient_data')),
  reason               text        NOT NULL,
  figures              jsonb       NOT NULL DEFAULT '{}'::jsonb,
  rollback_decision_id bigint      REFERENCES decisions (id),
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  UNIQUE (model, version, promoted_at)
);

-- Served-version splits of the logs.
CREATE INDEX IF NOT EXISTS interaction_log_version ON interaction_log (model, model_version, ts);
CREATE INDEX IF NOT EXISTS evaluation_log_version ON evaluation_log (model, model_version, ts);

-- ---------------------------------------------------------------------------
-- 000006 (issue 12): sampling indexes, frozen baselines
-- ---------------------------------------------------------------------------
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

-- ---------------------------------------------------------------------------
-- 000007: deployment id, decision claims with fencing, one policy/version per decision, pipeline runs
-- ---------------------------------------------------------------------------

-- One id per database, made once by the first migrate. Job ids and job data carry it
-- (packages/core/src/queues/catalog.ts jobIds), so two databases sharing one Redis and
-- queue prefix (a recreated database, a second deployment) never take each other's jobs.
CREATE TABLE IF NOT EXISTS driftwatch_deployment (
  singleton  boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
  id         text        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO driftwatch_deployment (id)
  VALUES (substr(md5(random()::text || clock_timestamp()::text), 1, 12))
  ON CONFLICT (singleton) DO NOTHING;

-- A decision's claim: each claim (queued -> running, or taking over a running decision
-- whose lease ran out) increments fence; the claimant renews lease_until while it works
-- and its writes of the outcome hold only while fence is still its own. A second claim
-- while the lease is live fails: two jobs never act on one decision at once.
ALTER TABLE decisions ADD COLUMN IF NOT EXISTS fence       bigint NOT NULL DEFAULT 0;
ALTER TABLE decisions ADD COLUMN IF NOT EXISTS lease_until timestamptz;
ALTER TABLE decisions ADD COLUMN IF NOT EXISTS claimed_by  text;

-- Behind every check-then-insert of an action: one safety policy and one model version per decision.
CREATE UNIQUE INDEX IF NOT EXISTS safety_policies_one_per_decision ON safety_policies (decision_id) WHERE decision_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS model_versions_one_per_decision ON model_versions (decision_id) WHERE decision_id IS NOT NULL;

-- Every run the pipeline started, so that a run that failed (a database or Redis outage
-- longer than its retries) is started again by the reconciler, not lost until the next tick.
CREATE TABLE IF NOT EXISTS pipeline_runs (
  run_id     text        PRIMARY KEY,
  model      text        NOT NULL,
  tick       timestamptz NOT NULL,
  dry_run    boolean     NOT NULL DEFAULT false,
  state      text        NOT NULL CHECK (state IN ('started', 'finished', 'incomplete', 'abandoned')),
  attempt    integer     NOT NULL DEFAULT 1,
  retry_of   text,
  failures   jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS pipeline_runs_state ON pipeline_runs (state, updated_at);
