-- Migration 000007: what keeps work from being lost, done twice or falsely reported.

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
