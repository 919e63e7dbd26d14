/**
 * OpenTelemetry GenAI spans (OTLP/HTTP, JSON or protobuf) into interaction events.
 * Recognises the GenAI semantic conventions (gen_ai.request.model, gen_ai.usage.*,
 * gen_ai.input.messages / gen_ai.output.messages, gen_ai.* message events), OpenLLMetry's
 * gen_ai.prompt.N.content / gen_ai.completion.N.content and OpenInference's input.value /
 * output.value / llm.*. A span is an interaction when it carries any of them. The event id is
 * otel:<trace id>:<span id>, so an exporter's retry stores nothing twice.
 */

/** OTLP JSON AnyValue (protobuf decodes to the same shape). */
export type AnyValue = {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
  bytesValue?: string;
};
export type KeyValue = { key: string; value?: AnyValue };
export interface OtlpSpan {
  traceId?: string;
  spanId?: string;
  name?: string;
  startTimeUnixNano?: string | number;
  endTimeUnixNano?: string | number;
  attributes?: KeyValue[];
  events?: { name?: string; timeUnixNano?: string | number; attributes?: KeyValue[] }[];
  status?: { code?: number | string; message?: string };
}
export interface OtlpTraces {
  resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[];
}

function plain(v: AnyValue | undefined): unknown {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(plain);
  if (v.kvlistValue) return Object.fromEntries((v.kvlistValue.values ?? []).map((kv) => [kv.key, plain(kv.value)]));
  return undefined;
}
const attrs = (kvs: KeyValue[] | undefined) => Object.fromEntries((kvs ?? []).map((kv) => [kv.key, plain(kv.value)]));

/** Text of a message in any of the shapes the conventions use (string, {content}, {parts: [{content|text}]}). */
function textOf(m: unknown): string {
  if (m === undefined || m === null) return '';
  if (typeof m === 'string') {
    const t = m.trim();
    if (t.startsWith('[') || t.startsWith('{')) {
      try {
        return textOf(JSON.parse(t));
      } catch {
        return m;
      }
    }
    return m;
  }
  if (Array.isArray(m)) return m.map(textOf).filter(Boolean).join('\n');
  if (typeof m === 'object') {
    const o = m as Record<string, unknown>;
    if (o.content !== undefined) return textOf(o.content);
    if (o.text !== undefined) return textOf(o.text);
    if (o.parts !== undefined) return textOf(o.parts);
    if (o.message !== undefined) return textOf(o.message);
  }
  return '';
}

/** The last user message of a messages array (JSON string or array), else all of it. */
function lastUser(v: unknown): string {
  let arr = v;
  if (typeof v === 'string') {
    try {
      arr = JSON.parse(v);
    } catch {
      return v;
    }
  }
  if (Array.isArray(arr)) {
    for (let i = arr.length - 1; i >= 0; i--) if ((arr[i] as { role?: string })?.role === 'user') return textOf(arr[i]);
  }
  return textOf(arr);
}

const nanosToMs = (v: string | number | undefined) => (v === undefined ? null : Number(BigInt(String(v)) / 1_000_000n));

export interface SpanConversion {
  events: { id: string; type: 'interaction'; timestamp?: number; body: Record<string, unknown> }[];
  /** Spans that are not GenAI calls (left alone, not an error). */
  skipped: number;
  /** GenAI spans that could not be turned into an interaction, with why. */
  rejected: { span: string; message: string }[];
}

/** Turns OTLP traces into interaction events. `model`: the Driftwatch model name when the spans do not say (driftwatch.model). */
export function spansToEvents(req: OtlpTraces, opts: { model?: string } = {}): SpanConversion {
  const out: SpanConversion = { events: [], skipped: 0, rejected: [] };
  for (const rs of req.resourceSpans ?? []) {
    const res = attrs(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        const a = attrs(span.attributes);
        const isGenAi = Object.keys(a).some((k) => k.startsWith('gen_ai.') || k.startsWith('llm.')) || a['openinference.span.kind'] === 'LLM';
        if (!isGenAi) {
          out.skipped++;
          continue;
        }
        const sid = `${span.traceId ?? ''}:${span.spanId ?? ''}`;
        const ev = (span.events ?? []).map((e) => ({ name: e.name ?? '', a: attrs(e.attributes) }));
        // Query: gen_ai.input.messages, gen_ai.prompt (OpenLLMetry indexed or JSON), gen_ai.user.message events, input.value.
        let query = '';
        if (a['gen_ai.input.messages'] !== undefined) query = lastUser(a['gen_ai.input.messages']);
        if (!query) {
          const idx = Object.keys(a).map((k) => /^gen_ai\.prompt\.(\d+)\.content$/.exec(k)).filter(Boolean).map((m) => Number(m![1]));
          const users = idx.filter((i) => (a[`gen_ai.prompt.${i}.role`] ?? 'user') === 'user').sort((x, y) => x - y);
          if (users.length) query = String(a[`gen_ai.prompt.${users[users.length - 1]}.content`] ?? '');
        }
        if (!query && a['gen_ai.prompt'] !== undefined) query = lastUser(a['gen_ai.prompt']);
        if (!query) {
          const u = ev.filter((e) => e.name === 'gen_ai.user.message' || e.name === 'gen_ai.content.prompt');
          if (u.length) {
            const last = u[u.length - 1].a;
            query = last['gen_ai.prompt'] !== undefined ? lastUser(last['gen_ai.prompt']) : textOf(last.content ?? last);
          }
        }
        if (!query && a['input.value'] !== undefined) query = lastUser(a['input.value']);
        // Response: gen_ai.output.messages, gen_ai.completion.0.content, gen_ai.choice / gen_ai.content.completion events, output.value.
        let response = '';
        if (a['gen_ai.output.messages'] !== undefined) response = textOf(a['gen_ai.output.messages']);
        if (!response && a['gen_ai.completion.0.content'] !== undefined) response = String(a['gen_ai.completion.0.content']);
        if (!response && a['gen_ai.completion'] !== undefined) response = textOf(a['gen_ai.completion']);
        if (!response) {
          const c = ev.find((e) => e.name === 'gen_ai.choice' || e.name === 'gen_ai.content.completion');
          if (c) response = c.a['gen_ai.completion'] !== undefined ? textOf(c.a['gen_ai.completion']) : textOf(c.a.message ?? c.a.content ?? c.a);
        }
        if (!response && a['output.value'] !== undefined) response = textOf(a['output.value']);
        const model = (a['driftwatch.model'] ?? res['driftwatch.model'] ?? opts.model ?? res['service.name'] ?? a['gen_ai.request.model'] ?? a['llm.model_name']) as string | undefined;
        if (!model) {
          out.rejected.push({ span: sid, message: 'no model name: set the span or resource attribute driftwatch.model (or service.name)' });
          continue;
        }
        const num = (...keys: string[]) => {
          for (const k of keys) {
            const v = a[k];
            if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return Math.round(v);
          }
          return undefined;
        };
        const start = nanosToMs(span.startTimeUnixNano);
        const end = nanosToMs(span.endTimeUnixNano);
        const code = span.status?.code;
        const failed = code === 2 || code === 'STATUS_CODE_ERROR';
        const body: Record<string, unknown> = {
          model: String(model),
          model_version: (a['gen_ai.response.model'] ?? a['gen_ai.request.model'] ?? a['llm.model_name']) as string | undefined,
          query,
          response,
          error: failed ? span.status?.message || 'error' : undefined,
          latency_ms: start !== null && end !== null && end >= start ? end - start : undefined,
          prompt_tokens: num('gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens', 'llm.token_count.prompt', 'llm.usage.prompt_tokens'),
          completion_tokens: num('gen_ai.usage.output_tokens', 'gen_ai.usage.completion_tokens', 'llm.token_count.completion', 'llm.usage.completion_tokens'),
        };
        for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
        if (typeof body.model_version === 'string' && !body.model_version) delete body.model_version;
        out.events.push({ id: `otel:${sid}`.slice(0, 128), type: 'interaction', ...(start !== null && start > 0 ? { timestamp: start } : {}), body });
      }
    }
  }
  return out;
}

// ---- OTLP protobuf (ExportTraceServiceRequest) into the JSON shape above -------------------

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}
  varint(): bigint {
    let r = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      r |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return r;
      shift += 7n;
      if (shift > 70n) throw new Error('varint too long');
    }
  }
  bytes(): Uint8Array {
    const n = Number(this.varint());
    if (n < 0 || this.pos + n > this.buf.length) throw new Error('truncated field');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  fixed64(): DataView {
    if (this.pos + 8 > this.buf.length) throw new Error('truncated fixed64');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8);
    this.pos += 8;
    return v;
  }
  /** Calls f(field, wireType) per field; f reads the value or returns false to skip it. */
  each(f: (field: number, wire: number) => boolean) {
    while (this.pos < this.buf.length) {
      const tag = Number(this.varint());
      const field = tag >>> 3;
      const wire = tag & 7;
      if (f(field, wire)) continue;
      if (wire === 0) this.varint();
      else if (wire === 1) this.pos += 8;
      else if (wire === 2) this.bytes();
      else if (wire === 5) this.pos += 4;
      else throw new Error(`unsupported wire type ${wire}`);
    }
  }
}

const utf8 = new TextDecoder();
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function anyValue(b: Uint8Array): AnyValue {
  const r = new Reader(b);
  const v: AnyValue = {};
  r.each((f, w) => {
    if (f === 1 && w === 2) v.stringValue = utf8.decode(r.bytes());
    else if (f === 2 && w === 0) v.boolValue = r.varint() !== 0n;
    else if (f === 3 && w === 0) v.intValue = BigInt.asIntN(64, r.varint()).toString();
    else if (f === 4 && w === 1) v.doubleValue = r.fixed64().getFloat64(0, true);
    else if (f === 5 && w === 2) {
      const a = new Reader(r.bytes());
      const values: AnyValue[] = [];
      a.each((g, x) => (g === 1 && x === 2 ? (values.push(anyValue(a.bytes())), true) : false));
      v.arrayValue = { values };
    } else if (f === 6 && w === 2) {
      const a = new Reader(r.bytes());
      const values: KeyValue[] = [];
      a.each((g, x) => (g === 1 && x === 2 ? (values.push(keyValue(a.bytes())), true) : false));
      v.kvlistValue = { values };
    } else if (f === 7 && w === 2) v.bytesValue = Buffer.from(r.bytes()).toString('base64');
    else return false;
    return true;
  });
  return v;
}

function keyValue(b: Uint8Array): KeyValue {
  const r = new Reader(b);
  const kv: KeyValue = { key: '' };
  r.each((f, w) => {
    if (f === 1 && w === 2) kv.key = utf8.decode(r.bytes());
    else if (f === 2 && w === 2) kv.value = anyValue(r.bytes());
    else return false;
    return true;
  });
  return kv;
}

function span(b: Uint8Array): OtlpSpan {
  const r = new Reader(b);
  const s: OtlpSpan = { attributes: [], events: [] };
  r.each((f, w) => {
    if (f === 1 && w === 2) s.traceId = hex(r.bytes());
    else if (f === 2 && w === 2) s.spanId = hex(r.bytes());
    else if (f === 5 && w === 2) s.name = utf8.decode(r.bytes());
    else if (f === 7 && w === 1) s.startTimeUnixNano = r.fixed64().getBigUint64(0, true).toString();
    else if (f === 8 && w === 1) s.endTimeUnixNano = r.fixed64().getBigUint64(0, true).toString();
    else if (f === 9 && w === 2) s.attributes!.push(keyValue(r.bytes()));
    else if (f === 11 && w === 2) {
      const e = new Reader(r.bytes());
      const ev: NonNullable<OtlpSpan['events']>[number] = { attributes: [] };
      e.each((g, x) => {
        if (g === 1 && x === 1) ev.timeUnixNano = e.fixed64().getBigUint64(0, true).toString();
        else if (g === 2 && x === 2) ev.name = utf8.decode(e.bytes());
        else if (g === 3 && x === 2) ev.attributes!.push(keyValue(e.bytes()));
        else return false;
        return true;
      });
      s.events!.push(ev);
    } else if (f === 15 && w === 2) {
      const st = new Reader(r.bytes());
      s.status = {};
      st.each((g, x) => {
        if (g === 2 && x === 2) s.status!.message = utf8.decode(st.bytes());
        else if (g === 3 && x === 0) s.status!.code = Number(st.varint());
        else return false;
        return true;
      });
    } else return false;
    return true;
  });
  return s;
}

/** Decodes an OTLP/HTTP protobuf ExportTraceServiceRequest; throws on malformed input. */
export function decodeOtlpTraces(buf: Uint8Array): OtlpTraces {
  const out: OtlpTraces = { resourceSpans: [] };
  const r = new Reader(buf);
  r.each((f, w) => {
    if (f !== 1 || w !== 2) return false;
    const rs = new Reader(r.bytes());
    const item: NonNullable<OtlpTraces['resourceSpans']>[number] = { resource: { attributes: [] }, scopeSpans: [] };
    rs.each((g, x) => {
      if (g === 1 && x === 2) {
        const res = new Reader(rs.bytes());
        res.each((h, y) => (h === 1 && y === 2 ? (item.resource!.attributes!.push(keyValue(res.bytes())), true) : false));
      } else if (g === 2 && x === 2) {
        const ss = new Reader(rs.bytes());
        const spans: OtlpSpan[] = [];
        ss.each((h, y) => (h === 2 && y === 2 ? (spans.push(span(ss.bytes())), true) : false));
        item.scopeSpans!.push({ spans });
      } else return false;
      return true;
    });
    out.resourceSpans!.push(item);
    return true;
  });
  return out;
}
