import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { createHttpApp } from '../../apps/scheduler/src/http/app.js';
import { ingestHarness } from './harness.js';

const TOKEN = 'otel-admin-token';
let h: Awaited<ReturnType<typeof ingestHarness>>;
beforeAll(async () => {
  h = await ingestHarness({ env: { DRIFTWATCH_ADMIN_TOKEN: TOKEN }, headers: { authorization: `Bearer ${TOKEN}` }, config: { ingest: { compute_embeddings: false } } });
});
afterAll(() => h?.close());

const rows = async (model: string) =>
  (await h.db.query<any>(`SELECT event_id, model_version, query, response, error, prompt_tokens, completion_tokens, latency_ms FROM interaction_log WHERE model = $1 ORDER BY id`, [model])).rows;

/** Runs the official OpenTelemetry SDK in a plain Node process (otel-export.cjs) against the test server. */
function exportSpans(kind: 'json' | 'protobuf', service: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [join(import.meta.dirname, 'otel-export.cjs'), `${h.url}/v1/otel/v1/traces`, TOKEN, service, kind], { timeout: 60_000 }, (err, stdout, stderr) =>
      err || !stdout.includes('exported') ? reject(new Error(`otel export failed: ${stderr || err?.message}`)) : resolve(),
    );
  });
}

describe('OTLP/HTTP GenAI spans become interactions', () => {
  for (const kind of ['json', 'protobuf'] as const) {
    it(`official @opentelemetry exporter, ${kind}`, async () => {
      const service = `otel-${kind}`;
      await exportSpans(kind, service);
      const got = await rows(service);
      expect(got).toHaveLength(3);
      expect(got[0]).toMatchObject({ model_version: 'gpt-4o-mini-2024-07-18', query: 'Where is my refund? I am [EMAIL]', response: 'It was sent today.', prompt_tokens: 12, completion_tokens: 7, error: null });
      expect(got[0].event_id).toMatch(/^otel:[0-9a-f]{32}:[0-9a-f]{16}$/);
      expect(got[1]).toMatchObject({ query: 'second question', error: 'upstream timeout' });
      expect(got[2]).toMatchObject({ model_version: 'gpt-4o', query: 'third question', response: 'third answer', prompt_tokens: 3, completion_tokens: 2 });
    });
  }

  it('malformed OTLP is a 4xx, a retried export stores nothing twice', async () => {
    const bad = await fetch(`${h.url}/v1/otel/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${TOKEN}` }, body: new Uint8Array([0x0a, 0xff, 0xff]) });
    expect(bad.status).toBe(400);
    const body = { resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'ab', spanId: 'cd', attributes: [{ key: 'gen_ai.request.model', value: { stringValue: 'm' } }, { key: 'gen_ai.prompt', value: { stringValue: 'hi' } }] }] }] }] };
    const r1 = await h.post('/v1/otel/v1/traces?model=otel-retry', body);
    const r2 = await h.post('/v1/otel/v1/traces?model=otel-retry', body);
    expect([r1.status, r2.status]).toEqual([200, 200]);
    expect(await rows('otel-retry')).toHaveLength(1);
  });
});

/** Every route of the app: [METHOD, express path]. Mounted routers are walked; Bull Board (a mounted UI, not an API) is left out. */
function appRoutes(app: any): string[] {
  const out: string[] = [];
  const walk = (stack: any[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) for (const m of Object.keys(layer.route.methods)) out.push(`${m.toUpperCase()} ${prefix}${layer.route.path}`);
      else if (layer.handle?.stack) {
        const mount = ['/openai/v1', '/admin/queues'].find((p) => layer.matchers?.[0]?.(p) && !layer.matchers[0]('/v1/zzz-not-a-route'));
        if (mount === '/admin/queues') continue;
        walk(layer.handle.stack, prefix + (mount ?? ''));
      }
    }
  };
  walk(app.router.stack, '');
  return [...new Set(out)].sort();
}

describe('GET /openapi.json', () => {
  it('is OpenAPI 3.1 generated from the zod schemas, lists every route of the app, and every listed route answers', async () => {
    const doc = (await h.get('/openapi.json')).json;
    expect(doc.openapi).toBe('3.1.0');
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`)).sort();
    const routes = appRoutes(createHttpApp(h.ctx, { ready: async () => true }));
    expect(routes.length).toBeGreaterThan(20);
    expect(routes.filter((r) => !documented.includes(r))).toEqual([]);
    expect(documented.filter((r) => !routes.includes(r))).toEqual([]);
    // The ingest body is the zod schema: strict objects, the event types.
    const ingest = doc.paths['/v1/ingest'].post.requestBody.content['application/json'].schema;
    expect(JSON.stringify(ingest)).toContain('"interaction","embedding","evaluation","feedback","document"');
    expect(doc.components.schemas.interaction_body.additionalProperties).toBe(false);
    // Every documented route answers: not Express's "Cannot GET" 404.
    for (const r of documented) {
      const [method, path] = r.split(' ');
      const url = h.url + path.replace(/:(\w+)/g, '1');
      const res = await fetch(url, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : undefined });
      const text = await res.text();
      expect(text, r).not.toMatch(/Cannot (GET|POST)/);
      expect(res.status, `${r}: ${text.slice(0, 200)}`).toBeLessThan(500);
    }
  });
});
