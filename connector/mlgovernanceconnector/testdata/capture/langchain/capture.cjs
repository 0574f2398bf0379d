// Captures LangChain JS (a prompt template | ChatOpenAI | string output
// parser sequence) under @arizeai/openinference-instrumentation-langchain,
// against a fake OpenAI chat completions API on 127.0.0.1. Writes OTLP/JSON
// to stdout.
const http = require('node:http');
const { trace, context } = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { JsonTraceSerializer } = require('@opentelemetry/otlp-transformer');

const MARK = 'jane@example.com';
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'langchain-js-app' }),
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
trace.setGlobalTracerProvider(provider);

const { LangChainInstrumentation } = require('@arizeai/openinference-instrumentation-langchain');
const inst = new LangChainInstrumentation();
inst.setTracerProvider(provider);
inst.manuallyInstrument(require('@langchain/core/callbacks/manager'));

const { ChatPromptTemplate } = require('@langchain/core/prompts');
const { StringOutputParser } = require('@langchain/core/output_parsers');
const { ChatOpenAI } = require('@langchain/openai');

const server = http.createServer((req, res) => {
  let raw = '';
  req.on('data', (c) => (raw += c));
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'chatcmpl-lc1', object: 'chat.completion', created: 1767265200, model: 'gpt-4.1-mini-2025-04-14',
      choices: [{ index: 0, message: { role: 'assistant', content: `Yes, ${MARK} is a customer.` }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 14, completion_tokens: 7, total_tokens: 21 } }));
  });
});

(async () => {
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const model = new ChatOpenAI({ model: 'gpt-4.1-mini', temperature: 0, apiKey: 'test',
    configuration: { baseURL: `http://127.0.0.1:${server.address().port}/v1` }, maxRetries: 0 });
  const chain = ChatPromptTemplate.fromMessages([['system', 'You answer questions about customers of Acme.'], ['human', '{question}']])
    .pipe(model).pipe(new StringOutputParser());
  await trace.getTracer('app').startActiveSpan('POST /ask', { attributes: { 'user.id': 'user-lc', 'session.id': 'sess-lc' } }, async (root) => {
    await chain.invoke({ question: `Is ${MARK} a customer?` }, { metadata: { tenant: 'acme' } });
    root.end();
  });
  // LangChain JS runs its callbacks (and so ends the chain's spans) in the
  // background: wait for them.
  await require('@langchain/core/callbacks/promises').awaitAllCallbacks();
  server.close();
  const spans = exporter.getFinishedSpans();
  process.stdout.write(JSON.stringify(JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans))), null, 1));
  process.stderr.write(`${spans.length} spans\n`);
})();
