import type { Queryable } from '../types.js';

/**
 * Merges `patch` into a running decision's result, so a long action records how far
 * it got (a fine-tune's job id, documents re-indexed so far) and a retry after a
 * crash carries on from there. Returns false when the decision is not running
 * (someone else finished or failed it), in which case nothing is written.
 */
export async function recordDecisionProgress(db: Queryable, decisionId: number, patch: Record<string, unknown>): Promise<boolean> {
  const r = await db.query(
    `UPDATE decisions SET result = coalesce(result, '{}'::jsonb) || $2::jsonb, updated_at = now()
      WHERE id = $1 AND state = 'running'`,
    [decisionId, JSON.stringify(patch)],
  );
  return (r.rowCount ?? 0) > 0;
}
