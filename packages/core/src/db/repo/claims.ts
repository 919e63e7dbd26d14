import type { Queryable } from '../types.js';
import type { DecisionRow, DecisionState } from './decisions.js';

/**
 * Claims on decisions, with fencing (Kleppmann's fencing tokens, in the table itself).
 *
 * A job that is about to act on a decision claims it: queued -> running, or a running
 * decision whose lease has run out (its claimant died, or moved to delayed to wait on
 * its provider). Each claim increments `fence` and returns it; the claimant renews its
 * lease while it works and writes the outcome only while the fence is still its own.
 * So a stalled job still running beside the job that replaced it cannot claim the
 * decision while the other's lease is live, and once it has been replaced, nothing it
 * writes counts.
 */
export interface Claim {
  decision: DecisionRow & { fence: number };
  fence: number;
}

/** Takes the decision for `owner` for leaseMs; null when it is not runnable or someone else holds a live lease. */
export async function claimDecision(db: Queryable, id: number, owner: string, leaseMs: number): Promise<Claim | null> {
  const r = await db.query<DecisionRow & { fence: number }>(
    `UPDATE decisions
        SET state = 'running', fence = fence + 1, claimed_by = $2,
            lease_until = now() + ($3::double precision * interval '1 millisecond'), updated_at = now()
      WHERE id = $1
        AND (state = 'queued' OR (state = 'running' AND (lease_until IS NULL OR lease_until < now())))
      RETURNING *`,
    [id, owner, leaseMs],
  );
  const row = r.rows[0];
  return row ? { decision: row, fence: Number(row.fence) } : null;
}

/** When the live lease of a running decision ends (ms from now), or null when it has none. */
export async function leaseRemainingMs(db: Queryable, id: number): Promise<number | null> {
  const r = await db.query<{ ms: number | null }>(
    `SELECT CASE WHEN state = 'running' AND lease_until > now() THEN extract(epoch FROM lease_until - now()) * 1000 END AS ms FROM decisions WHERE id = $1`,
    [id],
  );
  const ms = r.rows[0]?.ms;
  return ms == null ? null : Math.ceil(Number(ms));
}

/** Extends the lease; false when the claim was lost (another claim took the decision). */
export async function renewClaim(db: Queryable, id: number, fence: number, leaseMs: number): Promise<boolean> {
  const r = await db.query(
    `UPDATE decisions SET lease_until = now() + ($3::double precision * interval '1 millisecond')
      WHERE id = $1 AND fence = $2 AND state = 'running'`,
    [id, fence, leaseMs],
  );
  return r.rowCount > 0;
}

/**
 * Ends the lease without finishing (the job waits in delayed on its provider): the
 * decision stays running, and the job that comes back (or, if Redis lost it, the job
 * the reconciler re-enqueues) claims it again.
 */
export async function releaseClaim(db: Queryable, id: number, fence: number): Promise<boolean> {
  const r = await db.query(`UPDATE decisions SET lease_until = NULL WHERE id = $1 AND fence = $2 AND state = 'running'`, [id, fence]);
  return r.rowCount > 0;
}

/** Writes the outcome of a claimed decision; null when the claim was lost meanwhile (the write is refused). */
export async function finishClaim(db: Queryable, id: number, fence: number, to: DecisionState, result: Record<string, unknown>): Promise<DecisionRow | null> {
  const r = await db.query<DecisionRow>(
    `UPDATE decisions SET state = $3, result = $4::jsonb, lease_until = NULL, updated_at = now()
      WHERE id = $1 AND fence = $2 AND state = 'running' RETURNING *`,
    [id, fence, to, JSON.stringify(result)],
  );
  return r.rows[0] ?? null;
}
