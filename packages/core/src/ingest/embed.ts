import type { DriftConfig } from '../config/schema.js';
import type { Db } from '../db/types.js';
import { apiCostUsdTotal } from '../metrics/registry.js';
import type { EmbeddingProvider } from '../providers/types.js';
import type { Queues } from '../queues/queues.js';
import { jobIds } from '../queues/catalog.js';
import { checkDimensions, insertEmbeddingRows, valuesList } from './write.js';

/**
 * Computed embeddings: interactions stored without one (embed_state 'pending') get their
 * query embedded by the configured provider, through the embed queue, never on the
 * request path. The query was scrubbed before it was stored, so personal data never
 * reaches the provider.
 */

/** Queues embed jobs of at most `batch` interactions each. Idempotent per id range (job id). */
export async function enqueueEmbeddings(queues: Queues, ids: number[], batch: number): Promise<number> {
  let jobs = 0;
  for (let k = 0; k < ids.length; k += batch) {
    const part = ids.slice(k, k + batch);
    await queues.add('embed', { interaction_ids: part }, { jobId: jobIds.embed(part, queues.owner) });
    jobs++;
  }
  return jobs;
}

/** Pending interactions older than olderThanMs (their job was lost, e.g. Redis was down at ingest): queued again. */
export async function requeuePendingEmbeddings(db: Db, queues: Queues, batch: number, olderThanMs = 60_000, limit = 10_000): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `SELECT id FROM interaction_log WHERE embed_state = 'pending' AND ts < now() - make_interval(secs => $1::float8 / 1000) ORDER BY id LIMIT $2`,
    [olderThanMs, limit],
  );
  if (rows.length === 0) return 0;
  await enqueueEmbeddings(queues, rows.map((r) => Number(r.id)), batch);
  return rows.length;
}

export interface EmbedOutcome {
  embedded: number;
  failed: number;
  skipped: number;
  cost_usd: number;
}

async function markFailed(db: Db, ids: number[], why: string): Promise<void> {
  if (ids.length === 0) return;
  await db.query(`UPDATE interaction_log SET embed_state = 'failed', embed_error = $1 WHERE id IN (${ids.map((_, k) => `$${k + 2}`).join(',')}) AND embed_state = 'pending'`, [why, ...ids]);
}

/**
 * Embeds the pending interactions among ids (others are skipped: already done, or never
 * asked for), grouped by model and the model's configured embedding_model. A dimension
 * that differs from the model's earlier query embeddings marks them failed, naming both.
 * Provider errors propagate (the queue retries; a 429 pauses the queue).
 */
export async function embedInteractions(deps: { db: Db; config: DriftConfig; provider?: EmbeddingProvider }, ids: number[]): Promise<EmbedOutcome> {
  const { db, config, provider } = deps;
  const out: EmbedOutcome = { embedded: 0, failed: 0, skipped: 0, cost_usd: 0 };
  if (ids.length === 0) return out;
  const { rows } = await db.query<{ id: number; model: string; query: string; ts: string }>(
    `SELECT id, model, query, ts FROM interaction_log WHERE id IN (${ids.map((_, k) => `$${k + 1}`).join(',')}) AND embed_state = 'pending' ORDER BY id`,
    ids,
  );
  out.skipped = ids.length - rows.length;
  if (rows.length === 0) return out;
  if (!provider) {
    await markFailed(db, rows.map((r) => Number(r.id)), 'no embedding provider configured');
    out.failed = rows.length;
    return out;
  }
  const blank = rows.filter((r) => !r.query.trim());
  await markFailed(db, blank.map((r) => Number(r.id)), 'empty query: nothing to embed');
  out.failed += blank.length;
  const byModel = new Map<string, typeof rows>();
  for (const r of rows) if (r.query.trim()) byModel.set(r.model, [...(byModel.get(r.model) ?? []), r]);
  for (const [model, group] of byModel) {
    const embModel = config.models.find((m) => m.name === model)?.embedding_model;
    for (let k = 0; k < group.length; k += Math.max(1, provider.batchSize)) {
      const part = group.slice(k, k + Math.max(1, provider.batchSize));
      const res = await provider.embed(part.map((r) => r.query), embModel);
      out.cost_usd += res.cost_usd;
      if (res.cost_usd > 0) apiCostUsdTotal.inc({ provider: provider.name, operation: 'embeddings' }, res.cost_usd);
      await db.transaction(async (tx) => {
        const dim = res.vectors[0]?.length ?? 0;
        const [problem] = await checkDimensions(tx, [{ model, source: 'query', dim }]);
        if (problem || dim === 0) {
          const why = problem ?? 'the provider returned no vector';
          await tx.query(`UPDATE interaction_log SET embed_state = 'failed', embed_error = $1 WHERE id IN (${part.map((_, j) => `$${j + 2}`).join(',')}) AND embed_state = 'pending'`, [why, ...part.map((r) => Number(r.id))]);
          out.failed += part.length;
          return;
        }
        // Claim the rows (still pending) so that a job running twice embeds each once.
        const claimed = await tx.query<{ id: number }>(
          `UPDATE interaction_log SET embed_state = 'done', embed_error = NULL WHERE id IN (${part.map((_, j) => `$${j + 1}`).join(',')}) AND embed_state = 'pending' RETURNING id`,
          part.map((r) => Number(r.id)),
        );
        const mine = new Set(claimed.rows.map((r) => Number(r.id)));
        const rowsToWrite = part.map((r, j) => ({ r, v: res.vectors[j] })).filter((x) => mine.has(Number(x.r.id)));
        await insertEmbeddingRows(tx, rowsToWrite.map((x) => ({ model, ts: new Date(x.r.ts).toISOString(), source: 'query', embedding: Array.from(x.v), interaction_id: Number(x.r.id) })));
        out.embedded += rowsToWrite.length;
      });
    }
  }
  return out;
}

/** The ingest backlog: what GET /v1/ingest/status shows. */
export async function ingestBacklog(db: Db): Promise<{ embeddings_pending: number; embeddings_failed: number; feedback_held: number; feedback_expired: number; oldest_pending: string | null }> {
  const { rows } = await db.query<{ p: number; f: number; h: number; e: number; oldest: string | null }>(
    `SELECT (SELECT count(*)::int FROM interaction_log WHERE embed_state = 'pending') AS p,
            (SELECT count(*)::int FROM interaction_log WHERE embed_state = 'failed') AS f,
            (SELECT count(*)::int FROM held_feedback WHERE state = 'held') AS h,
            (SELECT count(*)::int FROM held_feedback WHERE state = 'expired') AS e,
            (SELECT min(ts) FROM interaction_log WHERE embed_state = 'pending') AS oldest`,
  );
  const r = rows[0];
  return { embeddings_pending: r.p, embeddings_failed: r.f, feedback_held: r.h, feedback_expired: r.e, oldest_pending: r.oldest ? new Date(r.oldest).toISOString() : null };
}
