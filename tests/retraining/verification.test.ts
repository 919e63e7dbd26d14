import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { PgliteDb, driftConfigSchema, getDecision, listModelVersions, metricsOfRecord, migrate, servedCurrentWindow, verifyPromotion, type Db } from '@driftwatch/core';
import { metricValue } from '../helpers/actions.js';
import { testConfig } from '../helpers/env.js';

const DAY = 86_400_000;
const now = new Date();
const logger = pino({ level: 'silent' });

/** n interactions and n evaluation items of a version over [fromDays, toDays) ago: `right` share correct, `refused` share refusals. */
async function traffic(db: Db, version: string | null, fromDays: number, toDays: number, n: number, right: number, refused: number) {
  const ts = (i: number) => new Date(now.getTime() - fromDays * DAY + ((fromDays - toDays) * DAY * (i + 0.5)) / n);
  await db.query(
    `INSERT INTO interaction_log (model, model_version, ts, query, response, feedback_score)
     SELECT 'support-bot', $1, t, 'q' || i, CASE WHEN i <= $3 THEN 'I''m sorry, but I can''t help with that request.' ELSE 'An answer.' END,
            CASE WHEN i <= $4 THEN 5 ELSE 2 END
       FROM unnest($2::timestamptz[]) WITH ORDINALITY AS u(t, i)`,
    [version, Array.from({ length: n }, (_, i) => ts(i)), Math.round(refused * n), Math.round(right * n)],
  );
  await db.query(
    `INSERT INTO evaluation_log (model, model_version, ts, input, expected, predicted, correct)
     SELECT 'support-bot', $1, t, 'q' || i, 'a', 'a', i <= $3 FROM unnest($2::timestamptz[]) WITH ORDINALITY AS u(t, i)`,
    [version, Array.from({ length: n }, (_, i) => ts(i)), Math.round(right * n)],
  );
}

async function version(db: Db, v: string, status: string, promotedDaysAgo: number | null) {
  await db.query(
    `INSERT INTO model_versions (model, version, provider, provider_model_id, base_model, status, promoted_at) VALUES ('support-bot', $1, 'offline', 'local:support-bot:' || $1, 'gpt-4o-mini-2024-07-18', $2, $3)`,
    [v, status, promotedDaysAgo === null ? null : new Date(now.getTime() - promotedDaysAgo * DAY)],
  );
}

let db: Db | undefined;
afterEach(async () => {
  await db?.close();
  db = undefined;
});

describe('verification after a promotion (split by model_version)', () => {
  const config = driftConfigSchema.parse(testConfig());

  it('waits for enough traffic, then verifies a version that did better than the base model', async () => {
    db = await PgliteDb.open('memory://');
    await migrate(db);
    await version(db, 'v1', 'promoted', 3);
    // The base model (model_version NULL) before the promotion: 78% right, 12% refusals.
    await traffic(db, null, 10, 3, 200, 0.78, 0.12);
    // Rows of other versions in the same period do not count (split by version, not by date).
    await traffic(db, 'support-team', 3, 0, 100, 1, 0);
    await traffic(db, 'v1', 3, 2.9, 10, 0.95, 0.02);
    const early = await verifyPromotion({ db, config, logger }, 'support-bot', now);
    expect(early).toMatchObject({ verdict: 'insufficient_data', version: 'v1', previous_version: null });
    expect(early!.figures.new.interactions).toBe(10);

    await traffic(db, 'v1', 2.9, 0, 200, 0.95, 0.02);
    const v = await verifyPromotion({ db, config, logger }, 'support-bot', now);
    expect(v).toMatchObject({ verdict: 'verified', rollback_decision_id: null });
    expect(v!.figures.new).toMatchObject({ interactions: 210, eval_items: 210 });
    expect(v!.figures.previous).toMatchObject({ version: null, interactions: 200, accuracy: 0.78, refusal_rate: 0.12 });
    expect(v!.reason).toMatch(/no significant regression/);
    expect(await metricValue('driftwatch_model_regressed', { model: 'support-bot' })).toBe(0);
    // Final: asked again, the same verdict.
    expect((await verifyPromotion({ db, config, logger }, 'support-bot', now))!.verdict).toBe('verified');
    const [row] = (await db.query<{ verdict: string }>(`SELECT verdict FROM model_verifications`)).rows;
    expect(row.verdict).toBe('verified');
  });

  it('a regressed version is rolled back to the previous one, as a decision with its reason', async () => {
    db = await PgliteDb.open('memory://');
    await migrate(db);
    await version(db, 'v1', 'retired', 10);
    await version(db, 'v2', 'promoted', 3);
    await traffic(db, 'v1', 10, 3, 200, 0.95, 0.02);
    await traffic(db, 'v2', 3, 0, 200, 0.7, 0.15);
    // driftwatch_rollbacks_total is a figure of record: the scheduler counts rollback decisions at each scrape.
    const ofRecord = metricsOfRecord(db, { models: ['support-bot'], baselineDays: 30, currentDays: 7 });
    await ofRecord.refresh();
    const before = await metricValue('driftwatch_rollbacks_total', { model: 'support-bot', kind: 'model', by: 'auto' });
    const v = await verifyPromotion({ db, config, logger }, 'support-bot', now);
    expect(v).toMatchObject({ verdict: 'regressed', version: 'v2', previous_version: 'v1' });
    expect(v!.reason).toMatch(/accuracy, refusal_rate, feedback significantly worse/);
    expect(v!.rollback_decision_id).toEqual(expect.any(Number));
    const d = (await getDecision(db, v!.rollback_decision_id!))!;
    expect(d).toMatchObject({ action: 'rollback', state: 'succeeded', decided_by: 'driftwatch-verification' });
    expect(d.reason).toMatch(/verification after promotion: accuracy/);
    expect((await listModelVersions(db, 'support-bot')).map((x) => [x.version, x.status])).toEqual([
      ['v1', 'promoted'],
      ['v2', 'rolled_back'],
    ]);
    expect(await metricValue('driftwatch_model_regressed', { model: 'support-bot' })).toBe(1);
    await ofRecord.refresh();
    expect((await metricValue('driftwatch_rollbacks_total', { model: 'support-bot', kind: 'model', by: 'auto' })) - before).toBe(1);
  });

  it('with auto_rollback off, a regression is recorded and nothing is rolled back', async () => {
    db = await PgliteDb.open('memory://');
    await migrate(db);
    await version(db, 'v1', 'promoted', 3);
    await traffic(db, null, 10, 3, 200, 0.9, 0.02);
    await traffic(db, 'v1', 3, 0, 200, 0.6, 0.02);
    const off = driftConfigSchema.parse(testConfig({ actions: { auto_rollback: false } }));
    const v = await verifyPromotion({ db, config: off, logger }, 'support-bot', now);
    expect(v).toMatchObject({ verdict: 'regressed', rollback_decision_id: null });
    expect((await listModelVersions(db, 'support-bot'))[0].status).toBe('promoted');
  });

  it('monitors judge only the served version\'s traffic when a promotion happened inside the current window', async () => {
    db = await PgliteDb.open('memory://');
    await migrate(db);
    const current = { start: new Date(now.getTime() - 7 * DAY), end: now };
    expect(await servedCurrentWindow(db, 'support-bot', current)).toEqual({ window: current, promotion: null });
    await version(db, 'v1', 'promoted', 2);
    const w = await servedCurrentWindow(db, 'support-bot', current);
    expect(w.promotion).toMatchObject({ version: 'v1' });
    expect(w.window).toEqual({ start: new Date(now.getTime() - 2 * DAY), end: now });
    // A promotion before the window leaves it as it is.
    expect((await servedCurrentWindow(db, 'support-bot', { start: new Date(now.getTime() - DAY), end: now })).promotion).toBeNull();
  });
});
