import type { PgDb } from '../../packages/core/src/db/pg.js';
import type { FakeOpenAI } from '../../tests/helpers/fake-openai.js';

/** What one fault did to the runs of one database, counted from that database and the fake provider. */
export interface Tally {
  started: number;
  finished: number;
  lost: number;
  twice: number;
  falsely: number;
  /** Run ids (first attempts) that did not finish, and decisions left unfinished, for the report. */
  lostWhat: string[];
  twiceWhat: string[];
  falseWhat: string[];
  /** Decisions of the phase's runs by action and final state, e.g. finetune:succeeded -> 2. */
  actions: Record<string, number>;
}

const TERMINAL = new Set(['succeeded', 'failed', 'skipped', 'rejected']);

interface RunRow {
  run_id: string;
  state: string;
  retry_of: string | null;
}
interface DecisionRow {
  id: number;
  run_id: string;
  model: string;
  action: string;
  state: string;
  result: Record<string, unknown> | null;
}

/** Every run id of the chains that start at `firsts` (a run and the retries the reconciler made of it). */
export async function runChains(db: PgDb, firsts: string[]): Promise<Map<string, RunRow[]>> {
  const all = (await db.query<RunRow>('SELECT run_id, state, retry_of FROM pipeline_runs')).rows;
  const byParent = new Map<string, RunRow[]>();
  for (const r of all) if (r.retry_of) byParent.set(r.retry_of, [...(byParent.get(r.retry_of) ?? []), r]);
  const self = new Map(all.map((r) => [r.run_id, r]));
  const chains = new Map<string, RunRow[]>();
  for (const first of firsts) {
    const chain: RunRow[] = [];
    const todo = [first];
    while (todo.length) {
      const id = todo.pop()!;
      const r = self.get(id);
      if (r) chain.push(r);
      for (const c of byParent.get(id) ?? []) todo.push(c.run_id);
    }
    chains.set(first, chain);
  }
  return chains;
}

/** True when every run of the phase has an outcome and every decision it made has ended. */
export async function settled(db: PgDb, firsts: string[]): Promise<boolean> {
  const chains = await runChains(db, firsts);
  for (const chain of chains.values()) {
    if (chain.length === 0) return false;
    if (!chain.some((r) => r.state === 'finished') && chain.some((r) => r.state === 'started' || r.state === 'incomplete')) return false;
  }
  const ids = [...chains.values()].flat().map((r) => r.run_id);
  const open = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM decisions WHERE run_id = ANY($1) AND state NOT IN ('succeeded', 'failed', 'skipped', 'rejected')`, [ids]);
  return open.rows[0].n === 0;
}

/**
 * Counts one phase: runs started (first attempts), finished (the run or a retry of it
 * finished), lost (a run that never finished, a decision that never ended), actions done
 * twice (side effects: provider fine-tune jobs, model versions, safety policies per
 * decision), actions falsely reported (a decision saying succeeded without its side effect
 * in this database).
 */
export async function tally(db: PgDb, firsts: string[], fake: FakeOpenAI, allStartKeys: Set<string>): Promise<Tally> {
  const t: Tally = { started: firsts.length, finished: 0, lost: 0, twice: 0, falsely: 0, lostWhat: [], twiceWhat: [], falseWhat: [], actions: {} };
  const chains = await runChains(db, firsts);
  for (const [first, chain] of chains) {
    if (chain.some((r) => r.state === 'finished')) t.finished++;
    else {
      t.lost++;
      t.lostWhat.push(`run ${first} (${chain.map((r) => `${r.run_id.slice(-4)}:${r.state}`).join(', ') || 'not recorded'})`);
    }
  }
  const ids = [...chains.values()].flat().map((r) => r.run_id);
  const decisions = (await db.query<DecisionRow>('SELECT id, run_id, model, action, state, result FROM decisions WHERE run_id = ANY($1) ORDER BY id', [ids])).rows;
  const policies = new Map((await db.query<{ decision_id: number; n: number }>('SELECT decision_id, count(*)::int AS n FROM safety_policies WHERE decision_id IS NOT NULL GROUP BY decision_id')).rows.map((r) => [Number(r.decision_id), r.n]));
  const versions = new Map(
    (await db.query<{ decision_id: number; n: number }>('SELECT decision_id, count(*)::int AS n FROM model_versions WHERE decision_id IS NOT NULL GROUP BY decision_id')).rows.map((r) => [Number(r.decision_id), r.n]),
  );
  const unindexed = new Map(
    (await db.query<{ model: string; n: number }>(`SELECT model, count(*)::int AS n FROM documents WHERE indexed_hash IS DISTINCT FROM content_hash GROUP BY model`)).rows.map((r) => [r.model, r.n]),
  );
  const jobs = [...fake.jobs.values()];
  for (const d of decisions) {
    t.actions[`${d.action}:${d.state}`] = (t.actions[`${d.action}:${d.state}`] ?? 0) + 1;
    if (!TERMINAL.has(d.state)) {
      t.lost++;
      t.lostWhat.push(`decision ${d.id} (${d.action}, ${d.state})`);
    }
    const r = d.result ?? {};
    if (d.action === 'finetune') {
      const key = typeof r.start_key === 'string' ? r.start_key : null;
      // Provider jobs this decision started: its own key, and keys of its id nobody recorded (a start whose key was lost).
      const mine = jobs.filter((j) => (key && j.metadata?.driftwatch_start === key) || (j.metadata?.driftwatch_start?.startsWith(`dw-${d.id}-`) && j.metadata?.driftwatch_model === d.model && !allStartKeys.has(j.metadata.driftwatch_start)));
      if (mine.length > 1) {
        t.twice += mine.length - 1;
        t.twiceWhat.push(`decision ${d.id}: ${mine.length} provider fine-tune jobs`);
      }
      if ((versions.get(d.id) ?? 0) > 1) {
        t.twice += versions.get(d.id)! - 1;
        t.twiceWhat.push(`decision ${d.id}: ${versions.get(d.id)} model versions`);
      }
      if (d.state === 'succeeded') {
        const job = jobs.find((j) => j.id === r.job_id);
        const ok = (versions.get(d.id) ?? 0) >= 1 && job && key && job.metadata?.driftwatch_start === key && job.status === 'succeeded';
        if (!ok) {
          t.falsely++;
          t.falseWhat.push(`decision ${d.id} (finetune) succeeded: provider job ${String(r.job_id)} ${job ? `${job.status}, key ${job.metadata?.driftwatch_start}` : 'missing'}, versions ${versions.get(d.id) ?? 0}`);
        }
      }
    } else if (d.action === 'safety') {
      if ((policies.get(d.id) ?? 0) > 1) {
        t.twice += policies.get(d.id)! - 1;
        t.twiceWhat.push(`decision ${d.id}: ${policies.get(d.id)} safety policies`);
      }
      if (d.state === 'succeeded' && !policies.get(d.id)) {
        t.falsely++;
        t.falseWhat.push(`decision ${d.id} (safety) succeeded without a safety policy`);
      }
    } else if (d.action === 'reindex') {
      if (d.state === 'succeeded' && (unindexed.get(d.model) ?? 0) > 0) {
        t.falsely++;
        t.falseWhat.push(`decision ${d.id} (reindex) succeeded with ${unindexed.get(d.model)} documents of ${d.model} not indexed`);
      }
    }
  }
  return t;
}

/** Every fine-tune start key any decision of these databases recorded. */
export async function startKeys(dbs: PgDb[]): Promise<Set<string>> {
  const keys = new Set<string>();
  for (const db of dbs) {
    const r = await db.query<{ k: string | null }>(`SELECT result->>'start_key' AS k FROM decisions WHERE action = 'finetune'`);
    for (const row of r.rows) if (row.k) keys.add(row.k);
  }
  return keys;
}

/** Seconds from `since` to the first run of this database that finished after it (null: none yet). */
export async function recoverySeconds(db: PgDb, since: number): Promise<number | null> {
  const r = await db.query<{ t: Date | null }>(`SELECT min(updated_at) AS t FROM pipeline_runs WHERE state = 'finished' AND updated_at >= $1`, [new Date(since)]);
  const at = r.rows[0]?.t;
  return at ? Math.max(0, (new Date(at).getTime() - since) / 1000) : null;
}
