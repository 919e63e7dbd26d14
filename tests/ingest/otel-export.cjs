// Exports GenAI spans with the official OpenTelemetry SDK, in a plain Node process (vitest's
// resolver would load the packages' "module" builds, which Node cannot run).
// Usage: node otel-export.cjs URL TOKEN SERVICE json|protobuf
const { BasicTracerProvider, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { SpanStatusCode } = require('@opentelemetry/api');
const [url, token, service, kind] = process.argv.slice(2);
const { OTLPTraceExporter } = require(kind === 'protobuf' ? '@opentelemetry/exporter-trace-otlp-proto' : '@opentelemetry/exporter-trace-otlp-http');

(async () => {
  const exporter = new OTLPTraceExporter({ url, headers: { authorization: `Bearer ${token}` } });
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': service }), spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('driftwatch-test');
  // OpenLLMetry style: indexed prompt/completion attributes.
  tracer.startSpan('openai.chat', {
    attributes: {
      'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
      'gen_ai.usage.input_tokens': 12, 'gen_ai.usage.output_tokens': 7,
      'gen_ai.prompt.0.role': 'system', 'gen_ai.prompt.0.content': 'be brief',
      'gen_ai.prompt.1.role': 'user', 'gen_ai.prompt.1.content': 'Where is my refund? I am jane@example.com',
      'gen_ai.completion.0.role': 'assistant', 'gen_ai.completion.0.content': 'It was sent today.',
    },
  }).end();
  // GenAI semantic conventions with the content in a span event, and a failed call.
  const b = tracer.startSpan('chat gpt-4o-mini', { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o-mini' } });
  b.addEvent('gen_ai.user.message', { content: 'second question' });
  b.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream timeout' });
  b.end();
  // OpenInference style.
  tracer.startSpan('llm', { attributes: { 'openinference.span.kind': 'LLM', 'llm.model_name': 'gpt-4o', 'input.value': 'third question', 'output.value': 'third answer', 'llm.token_count.prompt': 3, 'llm.token_count.completion': 2 } }).end();
  // Not a GenAI span: left alone.
  tracer.startSpan('GET /health').end();
  await provider.forceFlush();
  await provider.shutdown();
  process.stdout.write('exported\n');
})().catch((e) => {
  process.stderr.write(String(e && e.stack || e) + '\n');
  process.exit(1);
});
