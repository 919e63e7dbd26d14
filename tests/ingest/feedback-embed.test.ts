import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Worker } from 'bullmq';
import { OfflineEmbeddingProvider, WordVectors, expireHeldFeedback } from '@driftwatch/core';
import { startWorkers } from '../../apps/workers/src/index.js';
import { waitFor } from '../helpers/fleet.js';
import { ingestHarness } from './harness.js';

const TOKEN = 'admin-secret-token';
let h: Awaited<ReturnType<typeof ingestHarness>>;
let workers: Worker[] = [];
beforeAll(async () => {
  // A tiny 4-d vocabulary: the computed embeddings are real, and quick to load.
  const vectors = WordVectors.fromMap({ refund: [1, 0, 0, 0], order: [0, 1, 0, 0], hello: [0, 0, 1, 0] });
  h = await ingestHarness({
    env: { DRIFTWATCH_ADMIN_TOKEN: TOKEN },
    headers: { authorization: `Bearer ${TOKEN}` },
    config: { ingest: { feedback_hold_hours: 1 } },
    providers: { embeddings: new OfflineEmbeddingProvider({ vectors, batchSize: 3 }) },
  });
  workers = await startWorkers(h.ctx, h.redis.worker, ['embed']);
});
afterAll(async () => {
  await Promise.allSettled(workers.map((w) => w.close()));
  await h?.close();
});

const interaction = (id: string, extra: Record<string, unknown> = {}) => ({ id, type: 'interaction', body: { model: 'bot', query: `refund my order ${id}`, response: 'ok', ...extra } });
const row = async (eventId: string) => (await h.db.query<any>(`SELECT id, feedback_score, task_success, embed_state, embed_error FROM interaction_log WHERE event_id = $1`, [eventId])).rows[0];

describe('feedback', () => {
  it('applies feedback events and POST /v1/feedback by event id or Driftwatch id', async () => {
    await h.post('/v1/ingest', { batch: [interaction('fb-1'), interaction('fb-2'), { id: 'fb-1-score', type: 'feedback', body: { interaction_id: 'fb-1', score: 2 } }] });
    expect((await row('fb-1')).feedback_score).toBe(2);
    const id2 = (await row('fb-2')).id;
    const r = await h.post('/v1/feedback', { interaction_id: id2, task_success: false, score: 5 });
    expect(r).toMatchObject({ status: 200, json: { status: 'applied', interaction_id: id2 } });
    expect(await row('fb-2')).toMatchObject({ feedback_score: 5, task_success: false });
    const bad = await h.post('/v1/feedback', { interaction_id: 'fb-2', score: 6 });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/^score: /);
  });

  it('holds feedback that arrives before its interaction and applies it when the interaction arrives', async () => {
    const early = await h.post('/v1/feedback', { id: 'late-fb', interaction_id: 'late-1', score: 4, task_success: true });
    expect(early).toMatchObject({ status: 202, json: { status: 'held' } });
    const again = await h.post('/v1/feedback', { id: 'late-fb', interaction_id: 'late-1', score: 4, task_success: true });
    expect(again.json.status).toBe('duplicate');
    await h.post('/v1/ingest', { batch: [interaction('late-1')] });
    expect(await row('late-1')).toMatchObject({ feedback_score: 4, task_success: true });
    const shown = await h.get('/v1/interactions/late-1');
    expect(shown.status).toBe(200);
    expect(shown.json.feedback).toMatchObject({ score: 4, task_success: true, events: [expect.objectContaining({ event_id: 'late-fb', state: 'applied' })] });
    expect(shown.json.interaction.event_id).toBe('late-1');
    expect((await h.get(`/v1/interactions/${shown.json.interaction.id}`)).json.interaction.event_id).toBe('late-1');
    expect((await h.get('/v1/interactions/nope')).status).toBe(404);
    expect((await h.get('/v1/interactions/late-1', { authorization: 'Bearer wrong' })).status).toBe(401);
  });

  it('reports feedback whose interaction never arrives', async () => {
    await h.post('/v1/ingest', { batch: [{ id: 'ghost-fb', type: 'feedback', body: { interaction_id: 'ghost', score: 1 } }] });
    expect((await h.get('/v1/ingest/status')).json.feedback_held).toBeGreaterThanOrEqual(1);
    expect(await expireHeldFeedback(h.db, new Date(Date.now() + 2 * 3_600_000))).toBeGreaterThanOrEqual(1);
    const status = await h.get('/v1/ingest/status');
    expect(status.json.feedback_expired).toBeGreaterThanOrEqual(1);
  });
});

describe('computed embeddings', () => {
  it('embeds interactions stored without one, off the request path, in batches', async () => {
    const batch = Array.from({ length: 7 }, (_, k) => interaction(`emb-${k}`, { model: 'embbot' }));
    const r = await h.post('/v1/ingest', { batch });
    expect(r.json.successes).toHaveLength(7);
    await waitFor(async () => (await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM interaction_log WHERE model = 'embbot' AND embed_state = 'done'`)).rows[0].n === 7, 'embeddings computed', 60_000);
    const e = await h.db.query<{ dim: number; n: number }>(`SELECT dim, count(*)::int AS n FROM embeddings_log e JOIN interaction_log i ON i.id = e.interaction_id WHERE i.model = 'embbot' GROUP BY dim`);
    expect(e.rows).toEqual([{ dim: 4, n: 7 }]);
    const status = await h.get('/v1/ingest/status');
    expect(status.json).toMatchObject({ embeddings_pending: 0 });
    const shown = await h.get('/v1/interactions/emb-0');
    expect(shown.json.embedding).toMatchObject({ state: 'stored', rows: [expect.objectContaining({ dim: 4 })] });
  });

  it('a computed embedding of another dimension than the model has fails, naming both', async () => {
    await h.post('/v1/ingest', { batch: [interaction('dimx-1', { model: 'dimx', embedding: [1, 2, 3] })] });
    await h.post('/v1/ingest', { batch: [interaction('dimx-2', { model: 'dimx' })] });
    const r = await waitFor(async () => {
      const x = await row('dimx-2');
      return x.embed_state === 'failed' ? x : null;
    }, 'embedding failed', 60_000);
    expect(r.embed_error).toMatch(/embedding has 4 dimensions, but model "dimx" \(query embeddings\) has 3/);
  });
});
