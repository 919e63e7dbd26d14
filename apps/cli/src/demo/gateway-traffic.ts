import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import OpenAI from 'openai';
import { answerIsCorrect, createApiKey, embedInteractions, revokeApiKey, type AppContext, type EmbeddingProvider, type Serving } from '@driftwatch/core';
import type { Gateway } from '@driftwatch/gateway';
import { createHttpApp } from '@driftwatch/scheduler';
import { mapBounded } from '../bounded.js';
import { CONCURRENT_USERS, type QA } from './scenario.js';
import { messagesOf, planDays, playUser, type Turn } from './simulate.js';

export interface GatewayDays {
  from: Date;
  days: number;
  programmingShare: number;
  /** Share of LATER_PROGRAMMING questions (scenario.ts). */
  laterShare: number;
  rand: () => number;
  /** The query embeddings of the simulated rows (the embed queue's provider; the seeded history's). */
  embeddings: EmbeddingProvider;
  progress?: (line: string) => void;
}

export interface GatewayTraffic {
  /** What served the calls (GET /v1/models/:name). */
  serving: Serving;
  calls: number;
  /** Calls whose response had no x-driftwatch-interaction-id (the gateway could not reserve one in time): not rated, not re-dated. */
  calls_without_id: number;
  /** Calls whose question or answer the safety policy in force blocked (the user got the gateway's refusal). */
  blocked: number;
  feedback: number;
  support_answers: number;
  evaluations: number;
  embedded: number;
  bot: Turn<number | null>[];
}

/** The HTTP server of `start` (ingest, serving state, /openai/v1) on a loopback port, in this process. */
async function listen(ctx: AppContext): Promise<{ url: string; gateway: Gateway; close(): Promise<void> }> {
  const app = createHttpApp(ctx, { ready: async () => true });
  const gateway = app.locals.gateway as Gateway;
  // Reserve the first block of interaction ids before the first call, as the gateway role does.
  await gateway.log.start();
  const server: Server = createServer(app);
  await new Promise<void>((resolve, reject) => server.listen(0, '127.0.0.1', () => resolve()).once('error', reject));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    gateway,
    close: async () => {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      await gateway.close();
    },
  };
}

/** POST with the demo's key; a 429 is waited out (retry-after), any other error throws with the server's message. */
async function post(url: string, key: string, body: unknown): Promise<unknown> {
  for (;;) {
    const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status === 429) {
      await new Promise((r) => setTimeout(r, Math.max(1, Number(res.headers.get('retry-after') ?? 1)) * 1000));
      continue;
    }
    const text = await res.text();
    if (res.status >= 300) throw new Error(`demo: POST ${new URL(url).pathname} answered ${res.status}: ${text.slice(0, 500)}`);
    return text ? JSON.parse(text) : null;
  }
}

const chunks = <T>(xs: T[], n: number) => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, (i + 1) * n));

/**
 * The demo's users for some days, through the gateway as an application sees it: the
 * HTTP server of `start` runs in this process on a loopback port with an ingest key made
 * for the demo (revoked at the end); the official `openai` client, pointed at its
 * /openai/v1, asks every question with model `model`, so the served version answers
 * (the offline providers upstream); ratings go to POST /v1/feedback with the
 * x-driftwatch-interaction-id of the answer; the support team's answers to users the bot
 * failed go to POST /v1/interactions. The evaluation harness reads what serves
 * (GET /v1/models/:name), asks that model directly (its questions are not user traffic)
 * and sends the results to POST /v1/evaluations. Finally the query embeddings of every
 * new row are computed (what the embed queue does) before this returns, so the next
 * `run-once` sees them.
 */
export async function gatewayTraffic(ctx: AppContext, model: string, o: GatewayDays): Promise<GatewayTraffic> {
  const plan = planDays(o);
  const say = o.progress ?? (() => {});
  const created = await createApiKey(ctx.db, { name: 'driftwatch-demo', scope: 'ingest', created_by: 'driftwatch demo --days' });
  const http = await listen(ctx);
  try {
    const key = created.key;
    const client = new OpenAI({ baseURL: `${http.url}/openai/v1`, apiKey: key, maxRetries: 3, timeout: 120_000 });
    let calls = 0;
    const ask = async (qa: QA) => {
      const { data, response } = await client.chat.completions.create({ model, messages: messagesOf(qa) }).withResponse();
      const id = response.headers.get('x-driftwatch-interaction-id');
      if (++calls % 100 === 0) say(`${model}: ${calls} calls through the gateway`);
      return { response: data.choices[0]?.message.content ?? '', ref: id === null ? null : Number(id) };
    };
    const users = await mapBounded(plan.asked, CONCURRENT_USERS, (a) => playUser(a, ask));
    const bot = users.flatMap((u) => u.bot);
    await http.gateway.log.drain();
    const ids = bot.filter((t) => t.ref !== null);
    const blocked = (await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM interaction_log WHERE id = ANY($1::bigint[]) AND blocked`, [ids.map((t) => t.ref)])).rows[0].n;
    // The gateway stamps each call with the time it was made (now). These calls stand for
    // the simulated days before now, so each row is moved to the moment its user asked, in
    // one statement, after the calls and before anything reads the window.
    await ctx.db.query(`UPDATE interaction_log AS i SET ts = v.ts FROM unnest($1::bigint[], $2::timestamptz[]) AS v(id, ts) WHERE i.id = v.id AND i.model = $3`, [
      ids.map((t) => t.ref),
      ids.map((t) => t.ts),
      model,
    ]);

    say(`${model}: ratings and support answers through the ingest API`);
    const rated = ids.filter((t) => t.feedback !== null);
    await mapBounded(rated, CONCURRENT_USERS, (t) => post(`${http.url}/v1/feedback`, key, { interaction_id: t.ref, score: t.feedback, task_success: t.right }));
    const support = users.flatMap((u) => (u.support ? [u.support] : []));
    const supportIds: number[] = [];
    for (const part of chunks(support, 500)) {
      const out = (await post(
        `${http.url}/v1/interactions`,
        key,
        part.map((s) => ({
          model,
          model_version: 'support-team',
          ts: s.ts.toISOString(),
          query: s.qa.question,
          response: s.qa.answer,
          latency_ms: 60_000,
          prompt_tokens: 0,
          completion_tokens: 0,
          cost_usd: 0,
          task_success: true,
          ...(s.feedback === null ? {} : { feedback_score: s.feedback }),
        })),
      )) as { ids: number[] };
      supportIds.push(...out.ids);
    }

    say(`${model}: evaluation items`);
    const state = (await (await fetch(`${http.url}/v1/models/${encodeURIComponent(model)}`, { headers: { authorization: `Bearer ${key}` } })).json()) as { serving: Serving };
    const predicted = (await ctx.providers.answers!.answer(state.serving.provider_model, plan.evals.map((e) => e.qa.question))).answers;
    for (const part of chunks(plan.evals.map((e, i) => ({ e, predicted: predicted[i] })), 500)) {
      await post(
        `${http.url}/v1/evaluations`,
        key,
        part.map(({ e, predicted: p }) => ({
          model,
          ...(state.serving.version ? { model_version: state.serving.version } : {}),
          ts: e.ts.toISOString(),
          eval_set: 'default',
          item_id: `q-${createHash('sha1').update(e.qa.question).digest('hex').slice(0, 12)}`,
          input: e.qa.question,
          expected: e.qa.answer,
          predicted: p,
          correct: answerIsCorrect(p, e.qa.answer),
        })),
      );
    }

    say(`${model}: query embeddings of ${ids.length + supportIds.length} interactions`);
    // What the embed queue's workers do (embedInteractions), here and now: the rows were
    // re-dated first, so each embedding carries its row's simulated time.
    const toEmbed = [...ids.map((t) => t.ref as number), ...supportIds];
    let embedded = 0;
    for (const part of chunks(toEmbed, 500)) embedded += (await embedInteractions({ db: ctx.db, config: ctx.config, provider: o.embeddings }, part)).embedded;
    // A fleet's embed workers on the same database (the gateway queued these rows when it
    // wrote them) may have embedded some before they were re-dated: their embeddings take the row's time.
    await ctx.db.query(`UPDATE embeddings_log AS e SET ts = i.ts FROM interaction_log AS i WHERE e.interaction_id = i.id AND i.id = ANY($1::bigint[]) AND e.ts <> i.ts`, [toEmbed]);
    const pending = await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM interaction_log WHERE id = ANY($1::bigint[]) AND embed_state IS DISTINCT FROM 'done'`, [toEmbed]);
    if (pending.rows[0].n > 0) throw new Error(`demo: ${pending.rows[0].n} of the simulated interactions have no query embedding (embed_state not 'done'); see interaction_log.embed_error`);
    return {
      serving: state.serving,
      calls,
      calls_without_id: bot.length - ids.length,
      blocked,
      feedback: rated.length,
      support_answers: supportIds.length,
      evaluations: plan.evals.length,
      embedded,
      bot,
    };
  } finally {
    await http.close();
    await revokeApiKey(ctx.db, Number(created.row.id));
  }
}
