import type { DecisionRow } from '@driftwatch/core';
import { heldDataDir, type HeldHttp, type Settings } from './runtime.js';

/**
 * The CLI's way into a `driftwatch start` (or `scheduler`) that holds the embedded
 * database: PGlite is single-process, so instead of opening the folder the state
 * commands (decisions, approve, reject, run-once, keys, models, rollback, policy) call
 * that process's HTTP API with the local admin credential it wrote to
 * `<DRIFTWATCH_DATA_DIR>/http.json` (mode 0600, removed when it stops).
 */

/** The server refused the request (4xx): its message is the whole story (exit 2). */
export class RemoteRequestError extends Error {
  // main.ts prints PermanentErrors as one line and exits 2.
  override name = 'PermanentError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export class Remote {
  constructor(readonly held: HeldHttp) {}

  /** One JSON request; a 4xx is a RemoteRequestError with the server's message, anything else an Error. */
  async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.held.url + path, {
        method,
        headers: { authorization: `Bearer ${this.held.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(120_000),
      });
    } catch (e) {
      throw new Error(`cannot reach the driftwatch process ${this.held.pid} that holds the embedded database at ${this.held.url} (${(e as Error).message})`);
    }
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const message = (parsed as { error?: unknown } | undefined)?.error;
      const why = typeof message === 'string' ? message : typeof (message as { message?: unknown })?.message === 'string' ? (message as { message: string }).message : text.slice(0, 200) || res.statusText;
      if (res.status >= 400 && res.status < 500) throw new RemoteRequestError(why, res.status);
      throw new Error(`${method} ${path} on process ${this.held.pid}: HTTP ${res.status}: ${why}`);
    }
    return parsed as T;
  }
}

/**
 * The HTTP API to use instead of opening the embedded database, or null: with
 * DATABASE_URL (every process opens Postgres itself), when nobody holds the folder, or
 * when its holder serves no HTTP API (a `worker`; opening then fails with the usual
 * "in use" error).
 */
export function remoteFor(s: Settings): Remote | null {
  if (s.env.DATABASE_URL) return null;
  const held = heldDataDir(s.env.DRIFTWATCH_DATA_DIR);
  return held?.http ? new Remote(held.http) : null;
}

/** GET /v1/decisions. */
export async function remoteDecisions(r: Remote, opts: { state?: string; model?: string; limit?: number }): Promise<DecisionRow[]> {
  const q = new URLSearchParams();
  if (opts.state) q.set('state', opts.state);
  if (opts.model) q.set('model', opts.model);
  if (opts.limit !== undefined) q.set('limit', String(opts.limit));
  return (await r.request<{ decisions: DecisionRow[] }>('GET', `/v1/decisions?${q}`)).decisions;
}

/** POST /v1/decisions/:id/approve|reject. */
export async function remoteVerdict(r: Remote, verb: 'approve' | 'reject', id: number, by: string): Promise<DecisionRow> {
  return (await r.request<{ decision: DecisionRow }>('POST', `/v1/decisions/${id}/${verb}`, { by })).decision;
}

interface RunStatus {
  run_id: string;
  trigger_job_id: string;
  state: string;
  summary: RemoteRunSummary | null;
  error: string | null;
  actions: { queue: string; job_id: string; job_state: string; attempts_started: number; result?: Record<string, unknown>; error?: string }[];
}

interface RemoteRunSummary {
  run_id: string;
  model: string;
  monitor_failures: Record<string, string>;
  decisions: { action: string; state: string }[];
  action_jobs: { queue: string; job_id: string }[];
  [k: string]: unknown;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `run-once` through the HTTP API: POST /v1/runs for each model, then GET /v1/runs/:id
 * until the trigger and its actions have settled, the same way (and with the same
 * summary and progress lines) as the local run in commands/run-once.ts. The holder's
 * workers do the work; an action waiting on its provider is left to them unless `wait`.
 */
export async function remoteRunOnce(
  r: Remote,
  opts: { models: string[]; dryRun: boolean; configDryRun: boolean; wait: boolean; timeoutMs: number; progress?: (line: string) => void },
) {
  const progress = opts.progress ?? (() => {});
  const failures: string[] = [];
  const runs: unknown[] = [];
  for (const model of opts.models) {
    progress(`${model}: running the embedding, behavior and accuracy monitors`);
    const started = await r.request<{ run_id: string; trigger_job_id: string; warning?: string }>('POST', '/v1/runs', { model, dry_run: opts.dryRun });
    if (started.warning) progress(`${model}: ${started.warning}`);
    const statusPath = `/v1/runs/${encodeURIComponent(started.run_id)}`;
    const deadline = Date.now() + opts.timeoutMs;
    let status = await r.request<RunStatus>('GET', statusPath);
    while (status.state !== 'completed') {
      if (status.state === 'failed') throw new Error(`trigger job ${started.trigger_job_id} failed: ${status.error}`);
      if (status.state === 'removed') throw new Error(`trigger job ${started.trigger_job_id} vanished`);
      if (Date.now() > deadline) throw new Error(`run ${started.run_id}: the trigger did not finish within ${opts.timeoutMs} ms (it is ${status.state})`);
      await sleep(250);
      status = await r.request<RunStatus>('GET', statusPath);
    }
    const summary = status.summary!;
    for (const [child, reason] of Object.entries(summary.monitor_failures)) failures.push(`${model}: monitor ${child.split('.').pop()} failed: ${reason}`);
    progress(`${model}: ${summary.decisions.length} decision(s)${summary.decisions.length ? ': ' + summary.decisions.map((d) => `${d.action} ${d.state}`).join(', ') : ''}`);
    const actions = [];
    for (const a of summary.action_jobs) {
      progress(`${model}: ${a.queue} (${a.job_id}) running${opts.wait ? '; waiting for it to finish' : ''}`);
      let told = Date.now();
      let settled: { job_state: string; error?: string; note?: string } & Record<string, unknown>;
      for (;;) {
        const s = (await r.request<RunStatus>('GET', statusPath)).actions.find((x) => x.queue === a.queue && x.job_id === a.job_id);
        const state = s?.job_state ?? 'removed';
        if (state === 'removed') settled = { job_state: state };
        else if (state === 'completed') settled = { job_state: state, ...(s!.result ?? {}) };
        else if (state === 'failed') settled = { job_state: state, error: s!.error };
        else if (!opts.wait && state === 'delayed' && s!.attempts_started > 0) settled = { job_state: state, note: 'waiting on the provider or retrying; the fleet (driftwatch start or workers) carries it on' };
        else if (Date.now() > deadline) settled = { job_state: state, note: `still ${state} after ${opts.timeoutMs} ms` };
        else {
          if (Date.now() - told > 10_000) {
            told = Date.now();
            progress(`${model}: ${a.queue} still ${state}`);
          }
          await sleep(250);
          continue;
        }
        break;
      }
      if (settled.job_state === 'failed') failures.push(`${model}: ${a.queue} (${a.job_id}) failed: ${settled.error}`);
      else if (settled.job_state !== 'completed' && !(settled.job_state === 'delayed' && !opts.wait)) failures.push(`${model}: ${a.queue} (${a.job_id}) ${settled.job_state}${settled.note ? `: ${settled.note}` : ''}`);
      progress(`${model}: ${a.queue} ${settled.job_state}`);
      actions.push({ queue: a.queue, job_id: a.job_id, ...settled });
    }
    runs.push({ ...summary, actions });
  }
  // The holder's workers carry on any action left waiting: nothing is lost when this command exits.
  return { dry_run: opts.dryRun || opts.configDryRun, waited_for_actions: opts.wait, runs, failures };
}

/** GET /v1/models/:name and its policy: what `driftwatch models NAME` shows. */
export async function remoteServing<S, P>(r: Remote, name: string): Promise<{ state: S; policy: P }> {
  const path = `/v1/models/${encodeURIComponent(name)}`;
  const [state, policy] = await Promise.all([r.request<S>('GET', path), r.request<P>('GET', `${path}/policy`)]);
  return { state, policy };
}

/** POST /v1/models/:name/rollback or /v1/models/:name/policy/rollback. */
export async function remoteRollback<T>(r: Remote, what: 'model' | 'policy', name: string, body: { to?: string; by: string; reason: string }): Promise<T> {
  return r.request<T>('POST', `/v1/models/${encodeURIComponent(name)}/${what === 'policy' ? 'policy/' : ''}rollback`, body);
}

/** POST /v1/keys, GET /v1/keys, POST /v1/keys/:id/revoke. */
export const remoteKeys = {
  create: (r: Remote, k: { name: string; scope: string; by: string }) => r.request<{ id: number; key: string; name: string; scope: string }>('POST', '/v1/keys', k),
  list: async <K>(r: Remote) => (await r.request<{ keys: K[] }>('GET', '/v1/keys')).keys,
  /** The revoked key, or null when there is no such key. */
  revoke: async <K>(r: Remote, id: number): Promise<K | null> => {
    try {
      return (await r.request<{ key: K }>('POST', `/v1/keys/${id}/revoke`)).key;
    } catch (e) {
      if (e instanceof RemoteRequestError && e.status === 404) return null;
      throw e;
    }
  },
};
