-- Migration 000003 (issue 10): idempotent ingest, held (late) feedback, computed
-- embeddings, document metadata. Runs unchanged on Postgres with pgvector and on PGlite.

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
