import { z } from 'zod';
import {
  bodySchemas,
  documentBody,
  embeddingBody,
  evaluationBody,
  feedbackBody,
  ingestEvent,
  ingestResponse,
  interactionBody,
} from '@driftwatch/core';

/**
 * GET /openapi.json: OpenAPI 3.1 of every route of the scheduler's HTTP app, generated from
 * the zod schemas the routes validate with (ingest, feedback) and, for routes whose bodies
 * are small and validated by hand, from the schemas written here. tests/ingest/openapi.test.ts
 * checks that every route of the app is listed and every listed route answers.
 */

type Scope = 'none' | 'ingest' | 'admin' | 'board';
interface RouteDoc {
  method: 'get' | 'post';
  /** Express-style path (:param). */
  path: string;
  summary: string;
  scope: Scope;
  body?: z.ZodType;
  ok?: { status: number; schema?: z.ZodType; description: string };
  tag: string;
}

const oneOrMany = (s: z.ZodType) => z.union([s, z.array(s).min(1)]);
const ids = z.object({ ids: z.array(z.number().int()) });
const error = z.object({ error: z.string() });
const anyJson = z.record(z.string(), z.unknown());

export const ROUTES: RouteDoc[] = [
  { tag: 'health', method: 'get', path: '/healthz', summary: 'Liveness', scope: 'none', ok: { status: 200, schema: z.object({ status: z.literal('ok') }), description: 'alive' } },
  { tag: 'health', method: 'get', path: '/readyz', summary: 'Readiness: database and Redis reachable', scope: 'none', ok: { status: 200, schema: z.object({ status: z.string() }), description: 'ready (503 when not)' } },
  { tag: 'meta', method: 'get', path: '/openapi.json', summary: 'This document', scope: 'none', ok: { status: 200, description: 'OpenAPI 3.1' } },
  {
    tag: 'ingest', method: 'post', path: '/v1/ingest', scope: 'ingest',
    summary: 'A batch of events (interaction, embedding, evaluation, feedback, document), idempotent by event id; 207 with per-event results',
    body: z.object({ batch: z.array(ingestEvent).max(1000) }),
    ok: { status: 207, schema: ingestResponse, description: 'successes (201 stored, 200 duplicate, 202 feedback held) and errors (400 invalid with field, 409 id reused for another event, 503 retry)' },
  },
  { tag: 'ingest', method: 'post', path: '/v1/interactions', scope: 'ingest', summary: 'Shortcut: interactions, all or nothing (not idempotent; use /v1/ingest to retry safely)', body: oneOrMany(interactionBody), ok: { status: 201, schema: ids, description: 'stored' } },
  { tag: 'ingest', method: 'post', path: '/v1/embeddings', scope: 'ingest', summary: 'Shortcut: embeddings, all or nothing', body: oneOrMany(embeddingBody), ok: { status: 201, schema: ids, description: 'stored' } },
  { tag: 'ingest', method: 'post', path: '/v1/evaluations', scope: 'ingest', summary: 'Shortcut: evaluation results, all or nothing', body: oneOrMany(evaluationBody), ok: { status: 201, schema: ids, description: 'stored' } },
  {
    tag: 'ingest', method: 'post', path: '/v1/feedback', scope: 'ingest', summary: 'Feedback on an interaction by Driftwatch id or client event id; held when the interaction is not stored yet',
    body: z.intersection(feedbackBody, z.object({ id: z.string().max(128).optional() })),
    ok: { status: 200, schema: z.object({ status: z.enum(['applied', 'duplicate']), id: z.string(), interaction_id: z.number().nullable() }), description: 'applied (202 {status: held} when held)' },
  },
  { tag: 'ingest', method: 'get', path: '/v1/interactions/:id', scope: 'admin', summary: 'An interaction as stored (by Driftwatch id or client event id), with its feedback and embedding status', ok: { status: 200, schema: anyJson, description: 'the interaction' } },
  { tag: 'ingest', method: 'get', path: '/v1/ingest/status', scope: 'ingest', summary: 'Backlog: embeddings pending/failed, feedback held/expired, embed queue', ok: { status: 200, schema: anyJson, description: 'backlog' } },
  { tag: 'runs', method: 'get', path: '/v1/runs', scope: 'admin', summary: 'Drift runs, newest first (?limit, ?model)', ok: { status: 200, schema: anyJson, description: 'runs' } },
  { tag: 'runs', method: 'post', path: '/v1/runs', scope: 'admin', summary: 'Start a run now (run-once through the serving process)', body: anyJson, ok: { status: 202, schema: anyJson, description: 'started' } },
  { tag: 'runs', method: 'get', path: '/v1/runs/:run_id', scope: 'admin', summary: 'A run started through POST /v1/runs, with its monitors and actions', ok: { status: 200, schema: anyJson, description: 'the run' } },
  { tag: 'decisions', method: 'get', path: '/v1/decisions', scope: 'admin', summary: 'Decisions (?state, ?model, ?limit)', ok: { status: 200, schema: anyJson, description: 'decisions' } },
  { tag: 'decisions', method: 'post', path: '/v1/decisions/:id/approve', scope: 'admin', summary: 'Approve a decision awaiting approval', body: z.object({ by: z.string().optional() }), ok: { status: 200, schema: anyJson, description: 'the decision' } },
  { tag: 'decisions', method: 'post', path: '/v1/decisions/:id/reject', scope: 'admin', summary: 'Reject a decision awaiting approval', body: z.object({ by: z.string().optional() }), ok: { status: 200, schema: anyJson, description: 'the decision' } },
  { tag: 'serving', method: 'get', path: '/v1/models', scope: 'ingest', summary: 'Serving state of every model (live version, safety policy)', ok: { status: 200, schema: anyJson, description: 'models' } },
  { tag: 'serving', method: 'get', path: '/v1/models/:name', scope: 'ingest', summary: 'Serving state of one model', ok: { status: 200, schema: anyJson, description: 'the model' } },
  { tag: 'serving', method: 'get', path: '/v1/models/:name/policy', scope: 'ingest', summary: 'Safety policy in force', ok: { status: 200, schema: anyJson, description: 'the policy' } },
  { tag: 'serving', method: 'post', path: '/v1/models/:name/rollback', scope: 'admin', summary: 'Serve the previous (or a named) version again', body: anyJson, ok: { status: 200, schema: anyJson, description: 'the rollback decision' } },
  { tag: 'serving', method: 'post', path: '/v1/models/:name/policy/rollback', scope: 'admin', summary: 'Put the previous safety policy back in force', body: anyJson, ok: { status: 200, schema: anyJson, description: 'the rollback decision' } },
  { tag: 'keys', method: 'post', path: '/v1/keys', scope: 'admin', summary: 'Create an API key (shown once)', body: z.object({ name: z.string(), scope: z.enum(['ingest', 'admin']) }), ok: { status: 201, schema: anyJson, description: 'the key' } },
  { tag: 'keys', method: 'get', path: '/v1/keys', scope: 'admin', summary: 'API keys (never the secrets)', ok: { status: 200, schema: anyJson, description: 'keys' } },
  { tag: 'keys', method: 'post', path: '/v1/keys/:id/revoke', scope: 'admin', summary: 'Revoke an API key', ok: { status: 200, schema: anyJson, description: 'the key' } },
  { tag: 'gateway', method: 'post', path: '/openai/v1/chat/completions', scope: 'ingest', summary: 'OpenAI-compatible chat completions: the live version, the safety policy, logged', body: anyJson, ok: { status: 200, schema: anyJson, description: 'OpenAI chat completion' } },
  { tag: 'gateway', method: 'post', path: '/openai/v1/embeddings', scope: 'ingest', summary: 'OpenAI-compatible embeddings', body: anyJson, ok: { status: 200, schema: anyJson, description: 'OpenAI embeddings' } },
  { tag: 'gateway', method: 'get', path: '/openai/v1/models', scope: 'ingest', summary: 'OpenAI-compatible model list', ok: { status: 200, schema: anyJson, description: 'models' } },
  {
    tag: 'otel', method: 'post', path: '/v1/otel/v1/traces', scope: 'ingest',
    summary: 'OTLP/HTTP JSON traces: spans following the OpenTelemetry GenAI semantic conventions become interactions', body: anyJson,
    ok: { status: 200, schema: z.object({ partialSuccess: z.object({ rejectedSpans: z.number().optional(), errorMessage: z.string().optional() }).optional() }), description: 'ExportTraceServiceResponse' },
  },
];

const jsonSchema = (s: z.ZodType) => {
  const j = z.toJSONSchema(s, { unrepresentable: 'any', io: 'input' }) as Record<string, unknown>;
  delete j.$schema;
  return j;
};

let cached: object | null = null;

/** The OpenAPI 3.1 document (built once). */
export function openApiDocument(): object {
  if (cached) return cached;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) {
    const path = r.path.replace(/:([A-Za-z_]+)/g, '{$1}');
    const params = [...r.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const op: Record<string, unknown> = {
      tags: [r.tag],
      summary: r.summary,
      ...(params.length ? { parameters: params } : {}),
      ...(r.scope === 'none' ? { security: [] } : { description: `Needs a credential of scope ${r.scope} (Authorization: Bearer KEY; admin keys have every scope).` }),
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(r.body) } } } } : {}),
      responses: {
        [String(r.ok?.status ?? 200)]: { description: r.ok?.description ?? 'ok', ...(r.ok?.schema ? { content: { 'application/json': { schema: jsonSchema(r.ok.schema) } } } : {}) },
        ...(r.body ? { '400': { description: 'invalid: the field and the fix', content: { 'application/json': { schema: jsonSchema(error) } } }, '413': { description: 'body larger than ingest.body_limit_bytes' } } : {}),
        ...(r.scope !== 'none' ? { '401': { description: 'missing or unknown credential' }, '429': { description: 'rate limit; see retry-after' } } : {}),
      },
    };
    (paths[path] ??= {})[r.method] = op;
  }
  cached = {
    openapi: '3.1.0',
    info: { title: 'Driftwatch', version: '0.1.0', description: 'Ingest, serving state, decisions and the OpenAI-compatible gateway of a Driftwatch deployment.' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: Object.fromEntries(Object.entries(bodySchemas).map(([k, s]) => [`${k}_body`, jsonSchema(s)])),
    },
    security: [{ bearer: [] }],
    paths,
  };
  return cached;
}
