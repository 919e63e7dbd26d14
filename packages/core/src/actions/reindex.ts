import type { ActionRunner } from './types.js';

/**
 * Re-index documents (embedding drift): every document of the model whose content
 * changed since it was last embedded. Without an embedding provider it records how
 * many documents are stale.
 */
export const reindex: ActionRunner = async (ctx, decision) => {
  const { rows } = await ctx.db.query<{ stale: number; total: number }>(
    `SELECT count(*) FILTER (WHERE indexed_hash IS DISTINCT FROM content_hash)::int AS stale, count(*)::int AS total
       FROM documents WHERE model = $1`,
    [decision.model],
  );
  const { stale, total } = rows[0];
  return { status: 'planned', documents_total: total, documents_stale: stale, note: `would re-embed ${stale} of ${total} documents` };
};
