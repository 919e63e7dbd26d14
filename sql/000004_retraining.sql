-- Migration 000004 (issue 9): verification of promoted versions on the traffic they served.
-- Runs unchanged on Postgres with pgvector and on embedded PGlite.

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
