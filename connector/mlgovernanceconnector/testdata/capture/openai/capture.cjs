// Captures a streaming chat completion and an embedding made through the
// openai package under @opentelemetry/instrumentation-openai (the official
// GenAI instrumentation), against a fake OpenAI API on 127.0.0.1, with
// captureMessageContent on: the instrumentation puts prompts and responses
// in log events (gen_ai.user.message, gen_ai.choice), not on the spans.
// Writes the spans as OTLP/JSON to stdout and the log events as OTLP/JSON
// to the file named by the first argument.
const http = require('node:http');
const { trace, context } = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { JsonTraceSerializer, JsonLogsSerializer } = require('@opentelemetry/otlp-transformer');
const { logs } = require('@opentelemetry/api-logs');
const { LoggerProvider, InMemoryLogRecordExporter, SimpleLogRecordProcessor } = require('@opentelemetry/sdk-logs');
const fs = require('node:fs');

const logsFile = process.argv[2];
if (!logsFile) throw new Error('usage: node capture.cjs LOGS_FILE > TRACES_FILE');
const { OpenAIInstrumentation } = require('@opentelemetry/instrumentation-openai');

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const exporter = new InMemorySpanExporter();
const resource = resourceFromAttributes({ 'service.name': 'support-bot-js' });
const provider = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(exporter)] });
trace.setGlobalTracerProvider(provider);
const logExporter = new InMemoryLogRecordExporter();
const loggerProvider = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter: logExporter })] });
logs.setGlobalLoggerProvider(loggerProvider);
const inst = new OpenAIInstrumentation({ captureMessageContent: true });
inst.setTracerProvider(provider);
inst.setLoggerProvider(loggerProvider);
inst.setMeterProvider(require('@opentelemetry/api').metrics.getMeterProvider()); // its token metrics need instruments (no-op here)
inst.enable();
const { OpenAI } = require('openai'); // after enable(): the instrumentation hooks require

const server = http.createServer((req, res) => {
  let raw = '';
  req.on('data', (c) => (raw += c));
  req.on('end', () => {
    if (req.url === '/v1/embeddings') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }],
        model: 'text-embedding-3-small', usage: { prompt_tokens: 6, total_tokens: 6 } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const base = { id: 'chatcmpl-st1', object: 'chat.completion.chunk', created: 1767265200, model: 'gpt-4o-mini-2024-07-18' };
    for (const c of [
      { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: 'Your refund ' }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: { content: 'is on its way, jane@example.com.' }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
      { ...base, choices: [], usage: { prompt_tokens: 42, completion_tokens: 17, total_tokens: 59 } },
    ]) res.write(`data: ${JSON.stringify(c)}\n\n`);
    res.end('data: [DONE]\n\n');
  });
});

(async () => {
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${server.address().port}/v1`, apiKey: 'test', maxRetries: 0 });
  await trace.getTracer('app').startActiveSpan('POST /support', { attributes: { 'user.id': 'u-1842', 'session.id': 's-77' } }, async (root) => {
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true },
      temperature: 0.2, messages: [{ role: 'user', content: 'Where is the refund of jane@example.com?' }] });
    for await (const _ of stream) { /* drain */ }
    await client.embeddings.create({ model: 'text-embedding-3-small', input: 'refund jane@example.com' });
    root.end();
  });
  server.close();
  const spans = exporter.getFinishedSpans();
  process.stdout.write(JSON.stringify(JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans))), null, 1));
  await loggerProvider.forceFlush();
  const records = logExporter.getFinishedLogRecords();
  fs.writeFileSync(logsFile, JSON.stringify(JSON.parse(new TextDecoder().decode(JsonLogsSerializer.serializeRequest(records))), null, 1));
  process.stderr.write(`${spans.length} spans, ${records.length} log events\n`);
})();
