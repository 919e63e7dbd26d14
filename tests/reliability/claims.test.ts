import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteDb, claimDecision, deploymentId, finishClaim, leaseRemainingMs, migrate, renewClaim } from '@driftwatch/core';
import { makeDecision } from '../helpers/decisions.js';
import { waitFor } from '../helpers/fleet.js';

describe('decision claims with a fencing token', () => {
  let db: PgliteDb;
  beforeAll(async () => {
    db = await PgliteDb.open('memory://');
    await migrate(db);
  });
  afterAll(() => db?.close());

  it('a second claim fails while the first claimant holds a live lease', async () => {
    const d = await makeDecision(db, { state: 'queued' });
    const first = await claimDecision(db, d.id, 'worker-a', 60_000);
    expect(first?.fence).toBe(1);
    expect(first?.decision.state).toBe('running');
    // A stalled job running again beside its original: the decision is running, the lease live.
    expect(await claimDecision(db, d.id, 'worker-b', 60_000)).toBeNull();
    expect(await leaseRemainingMs(db, d.id)).toBeGreaterThan(50_000);
    expect(await finishClaim(db, d.id, first!.fence, 'succeeded', { ok: true })).toMatchObject({ state: 'succeeded' });
    // Finished: nobody claims it again.
    expect(await claimDecision(db, d.id, 'worker-c', 60_000)).toBeNull();
  });

  it('after the lease runs out another job takes over, and the first one can no longer write the outcome', async () => {
    const d = await makeDecision(db, { state: 'queued' });
    const first = (await claimDecision(db, d.id, 'worker-a', 150))!;
    await waitFor(async () => (await leaseRemainingMs(db, d.id)) === null, 'the lease to run out', 10_000, 20);
    const second = (await claimDecision(db, d.id, 'worker-b', 60_000))!;
    expect(second.fence).toBe(first.fence + 1);
    expect(await renewClaim(db, d.id, first.fence, 60_000)).toBe(false);
    expect(await finishClaim(db, d.id, first.fence, 'failed', { error: 'late' })).toBeNull();
    expect(await finishClaim(db, d.id, second.fence, 'succeeded', { by: 'b' })).toMatchObject({ state: 'succeeded', result: { by: 'b' } });
  });

  it('one safety policy and one model version per decision, enforced by the database', async () => {
    const d = await makeDecision(db, { state: 'running' });
    await db.query(`INSERT INTO safety_policies (model, moderation_threshold, decision_id) VALUES ('support-bot', 0.5, $1)`, [d.id]);
    await expect(db.query(`INSERT INTO safety_policies (model, moderation_threshold, decision_id) VALUES ('support-bot', 0.4, $1)`, [d.id])).rejects.toThrow(/duplicate key/);
    const f = await makeDecision(db, { state: 'running', action: 'finetune' });
    await db.query(`INSERT INTO model_versions (model, version, provider, status, decision_id) VALUES ('support-bot', 'v-a', 'offline', 'training', $1)`, [f.id]);
    await expect(db.query(`INSERT INTO model_versions (model, version, provider, status, decision_id) VALUES ('support-bot', 'v-b', 'offline', 'training', $1)`, [f.id])).rejects.toThrow(/duplicate key/);
  });

  it('every database gets its own deployment id at its first migrate, kept afterwards', async () => {
    const other = await PgliteDb.open('memory://');
    try {
      await migrate(other);
      const a = await deploymentId(db);
      const b = await deploymentId(other);
      expect(a).toMatch(/^[0-9a-f]{12}$/);
      expect(b).toMatch(/^[0-9a-f]{12}$/);
      expect(a).not.toBe(b);
      await migrate(other);
      expect(await deploymentId(other)).toBe(b);
    } finally {
      await other.close();
    }
  });
});
