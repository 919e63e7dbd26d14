import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PgliteDb,
  getPromotedVersion,
  listModelVersions,
  migrate,
  promoteModelVersion,
  recordDecisionProgress,
  reserveModelVersion,
  updateModelVersion,
} from '@driftwatch/core';

let db: PgliteDb;
beforeAll(async () => {
  db = await PgliteDb.open('memory://');
  await migrate(db);
});
afterAll(async () => {
  await db.close();
});

describe('model registry', () => {
  it('reserves v1, v2, ... per model, past names taken by someone else', async () => {
    const base = { provider: 'offline', base_model: 'b', status: 'training' as const };
    expect((await reserveModelVersion(db, { model: 'a', ...base })).version).toBe('v1');
    expect((await reserveModelVersion(db, { model: 'b', ...base })).version).toBe('v1');
    await db.query(`INSERT INTO model_versions (model, version, provider, status) VALUES ('a', 'v5', 'x', 'failed')`);
    const two = await Promise.all([reserveModelVersion(db, { model: 'a', ...base }), reserveModelVersion(db, { model: 'a', ...base })]);
    expect(two.map((r) => r.version).sort()).toEqual(['v6', 'v7']);
  });

  it('promotes one version at a time: the previous one retires, accuracies and details are kept', async () => {
    const v1 = await reserveModelVersion(db, { model: 'p', provider: 'offline', base_model: 'b', status: 'candidate' });
    const v2 = await reserveModelVersion(db, { model: 'p', provider: 'offline', base_model: 'b', status: 'candidate' });
    expect(await getPromotedVersion(db, 'p')).toBeNull();
    const first = await promoteModelVersion(db, v1.id, { eval_accuracy: 0.8, baseline_accuracy: 0.5, details: { gate: { eval_items: 10 } } });
    expect(first.retired).toBeNull();
    expect(first.promoted).toMatchObject({ status: 'promoted', eval_accuracy: 0.8, baseline_accuracy: 0.5, details: { gate: { eval_items: 10 } } });
    const second = await promoteModelVersion(db, v2.id, { eval_accuracy: 0.9, baseline_accuracy: 0.8 });
    expect(second.retired?.version).toBe('v1');
    expect((await getPromotedVersion(db, 'p'))?.version).toBe('v2');
    expect((await listModelVersions(db, 'p')).map((v) => [v.version, v.status])).toEqual([
      ['v1', 'retired'],
      ['v2', 'promoted'],
    ]);
    // Promoting the promoted version again changes nothing.
    expect((await promoteModelVersion(db, v2.id, { eval_accuracy: 0, baseline_accuracy: 0 })).promoted.eval_accuracy).toBe(0.9);
    const updated = await updateModelVersion(db, v1.id, { details: { note: 'x' } });
    expect(updated?.details).toMatchObject({ gate: { eval_items: 10 }, note: 'x' });
  });

  it('records progress on running decisions only', async () => {
    const ins = await db.query<{ id: number }>(
      `INSERT INTO decisions (run_id, model, action, state, reason, dedup_key, window_start, window_end) VALUES ('r', 'm', 'finetune', 'running', 'x', 'k1', now(), now()) RETURNING id`,
    );
    const id = ins.rows[0].id;
    expect(await recordDecisionProgress(db, id, { job_id: 'j1' })).toBe(true);
    expect(await recordDecisionProgress(db, id, { polls: 2 })).toBe(true);
    expect((await db.query<{ result: unknown }>('SELECT result FROM decisions WHERE id = $1', [id])).rows[0].result).toEqual({ job_id: 'j1', polls: 2 });
    await db.query(`UPDATE decisions SET state = 'succeeded' WHERE id = $1`, [id]);
    expect(await recordDecisionProgress(db, id, { polls: 3 })).toBe(false);
  });
});
