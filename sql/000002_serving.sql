-- Migration 000002 (issue 8): API keys, serving state (rollback), gateway interactions.
-- Runs unchanged on Postgres with pgvector and on embedded PGlite.

-- API keys: applications and operators authenticate with `Authorization: Bearer KEY`.
-- Only a SHA-256 hash of the key is stored; key_prefix (the first characters) lets a
-- person recognise a key in `driftwatch keys list`. scope: ingest (ingest, read the
-- serving state, use the gateway) or admin (everything). A revoked key stays listed.
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

-- A rollback (of a model version or of a safety policy) is a decision like any other:
-- who, when, why, in `driftwatch decisions`.
ALTER TABLE decisions DROP CONSTRAINT IF EXISTS decisions_action_check;
ALTER TABLE decisions ADD CONSTRAINT decisions_action_check CHECK (action IN ('reindex', 'finetune', 'safety', 'rollback'));

-- A version that was rolled back is kept, as rolled_back, and is never chosen again as
-- the default target of a later rollback.
ALTER TABLE model_versions DROP CONSTRAINT IF EXISTS model_versions_status_check;
ALTER TABLE model_versions ADD CONSTRAINT model_versions_status_check
  CHECK (status IN ('training', 'candidate', 'promoted', 'rejected', 'retired', 'failed', 'rolled_back'));

-- A policy row that a rollback wrote names the row it restores (details.restores).
ALTER TABLE safety_policies ADD COLUMN IF NOT EXISTS details jsonb NOT NULL DEFAULT '{}'::jsonb;

-- Gateway traffic: blocked = the safety policy replaced the answer with a refusal;
-- source = who logged the row ('gateway', or NULL for ingest and SQL).
ALTER TABLE interaction_log ADD COLUMN IF NOT EXISTS blocked boolean;
ALTER TABLE interaction_log ADD COLUMN IF NOT EXISTS source text;
