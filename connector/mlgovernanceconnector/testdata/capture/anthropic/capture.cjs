// Captures the spans of one Anthropic Messages call made through
// @anthropic-ai/sdk (which emits its own anthropic.messages.create span when a
// tracer provider is registered) under a second instrumentation, given as the
// first argument: "traceloop" (@traceloop/instrumentation-anthropic) or
// "openinference" (@arizeai/openinference-instrumentation-anthropic), or
// "native" for none (the SDK's own span alone). The API
// is a fake on 127.0.0.1. Writes OTLP/JSON to stdout; with no argument, both
// instrumented runs, each in its own process (an instrumentation cannot be
// undone), merged into one document.
const http = require('node:http');
const { trace, context } = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { JsonTraceSerializer } = require('@opentelemetry/otlp-transformer');

// The SDK records prompts and responses on its span only when asked to:
// the fail-closed tests need them there.
process.env.ANTHROPIC_OPEN_TELEMETRY_TRACES_CONTENT_MODE ??= 'content';

const MARK = 'jane@example.com';
const which = process.argv[2];
if (!which) {
  const { execFileSync } = require('node:child_process');
  const runs = ['traceloop', 'openinference'].map((w) => JSON.parse(execFileSync(process.execPath, [__filename, w])));
  process.stdout.write(JSON.stringify({ resourceSpans: runs.flatMap((r) => r.resourceSpans) }, null, 1));
  return;
}
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': `support-${which}` }),
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
trace.setGlobalTracerProvider(provider);

const sdk = require('@anthropic-ai/sdk');
if (which === 'traceloop') {
  const { AnthropicInstrumentation } = require('@traceloop/instrumentation-anthropic');
  const inst = new AnthropicInstrumentation({ traceContent: true });
  inst.setTracerProvider(provider);
  // @anthropic-ai/sdk 1.x has no legacy Completions resource, which this
  // instrumentation wraps first: give it an empty class for that one.
  inst.manuallyInstrument({ Anthropic: { Completions: class {}, Messages: sdk.Anthropic.Messages, Beta: sdk.Anthropic.Beta } });
} else if (which === 'openinference') {
  const { AnthropicInstrumentation } = require('@arizeai/openinference-instrumentation-anthropic');
  const inst = new AnthropicInstrumentation();
  inst.setTracerProvider(provider);
  inst.manuallyInstrument(sdk);
} else if (which !== 'native') {
  throw new Error(`unknown instrumentation ${which}: traceloop, openinference or native`);
}

const server = http.createServer((req, res) => {
  let raw = '';
  req.on('data', (c) => (raw += c));
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'request-id': 'req_01' });
    res.end(JSON.stringify({ id: 'msg_01', type: 'message', role: 'assistant', model: 'claude-3-5-haiku-20241022',
      content: [{ type: 'text', text: `Order A-77 of ${MARK} ships today.` }], stop_reason: 'end_turn', stop_sequence: null,
      usage: { input_tokens: 88, output_tokens: 20 } }));
  });
});

(async () => {
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const client = new sdk.Anthropic({ baseURL: `http://127.0.0.1:${server.address().port}`, apiKey: 'test', maxRetries: 0 });
  const tracer = trace.getTracer('app');
  await tracer.startActiveSpan('POST /chat', { attributes: { 'user.id': 'u-dup', 'session.id': 's-dup' } }, async (root) => {
    await client.messages.create({ model: 'claude-3-5-haiku-latest', max_tokens: 256, system: 'You are the support agent of Acme.',
      messages: [{ role: 'user', content: `Where is order A-77 of ${MARK}?` }] });
    root.end();
  });
  server.close();
  const spans = exporter.getFinishedSpans();
  process.stdout.write(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)));
  process.stderr.write(`${spans.length} spans\n`);
})();
