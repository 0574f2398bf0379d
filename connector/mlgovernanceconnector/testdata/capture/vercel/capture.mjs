// Captures the OTLP spans the Vercel AI SDK emits, against a fake OpenAI and
// Anthropic API on 127.0.0.1, and writes them as OTLP/JSON (stdout).
// No network, no key: the providers' base URLs point at the fake server.
import http from 'node:http';
import { generateText, streamText, generateObject, embed, tool, stepCountIs } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { createAnthropic } from '@ai-sdk/anthropic';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { z } from 'zod';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';

// Parent links need a context manager, as @opentelemetry/sdk-node registers.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

const MARK = 'jane@example.com'; // a personal datum the archive must not hold in clear
let calls = 0;

function json(res, body) {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const server = http.createServer((req, res) => {
  let raw = '';
  req.on('data', (c) => (raw += c));
  req.on('end', () => {
    const body = raw ? JSON.parse(raw) : {};
    calls++;
    if (req.url === '/v1/chat/completions' && body.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const base = { id: 'chatcmpl-s1', object: 'chat.completion.chunk', created: 1767265200, model: 'gpt-4.1-mini-2025-04-14' };
      const chunks = [
        { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: 'Your order ' }, finish_reason: null }] },
        { ...base, choices: [{ index: 0, delta: { content: 'ships today.' }, finish_reason: null }] },
        { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
        { ...base, choices: [], usage: { prompt_tokens: 21, completion_tokens: 5, total_tokens: 26 } },
      ];
      for (const c of chunks) res.write(`data: ${JSON.stringify(c)}\n\n`);
      res.end('data: [DONE]\n\n');
      return;
    }
    if (req.url === '/v1/chat/completions') {
      const hasToolResult = (body.messages || []).some((m) => m.role === 'tool');
      if (body.response_format) {
        return json(res, { id: 'chatcmpl-o1', object: 'chat.completion', created: 1767265200, model: 'gpt-4.1-2025-04-14',
          choices: [{ index: 0, message: { role: 'assistant', content: JSON.stringify({ email: MARK, intent: 'refund' }) }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 33, completion_tokens: 9, total_tokens: 42 } });
      }
      if (!hasToolResult) {
        return json(res, { id: 'chatcmpl-t1', object: 'chat.completion', created: 1767265200, model: 'gpt-4.1-2025-04-14',
          choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_refund_1', type: 'function',
            function: { name: 'refund', arguments: JSON.stringify({ order: 'A-77', email: MARK }) } }] }, finish_reason: 'tool_calls' }],
          usage: { prompt_tokens: 61, completion_tokens: 19, total_tokens: 80 } });
      }
      return json(res, { id: 'chatcmpl-t2', object: 'chat.completion', created: 1767265201, model: 'gpt-4.1-2025-04-14',
        choices: [{ index: 0, message: { role: 'assistant', content: `Refunded order A-77; a receipt goes to ${MARK}.` }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 95, completion_tokens: 14, total_tokens: 109 } });
    }
    if (req.url === '/v1/embeddings') {
      return json(res, { object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.011, -0.02, 0.3] }],
        model: 'text-embedding-3-small', usage: { prompt_tokens: 8, total_tokens: 8 } });
    }
    if (req.url === '/v1/messages') {
      return json(res, { id: 'msg_01', type: 'message', role: 'assistant', model: 'claude-3-5-haiku-20241022',
        content: [{ type: 'text', text: `I have noted ${MARK}.` }], stop_reason: 'end_turn', stop_sequence: null,
        usage: { input_tokens: 20, output_tokens: 7 } });
    }
    res.writeHead(404);
    res.end(`unexpected ${req.method} ${req.url}`);
  });
});

await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'next-shop', 'service.version': '2.1.0', 'deployment.environment.name': 'prod' }),
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
const tracer = provider.getTracer('ai');
const openai = createOpenAI({ baseURL: `${base}/v1`, apiKey: 'test' });
const anthropic = createAnthropic({ baseURL: `${base}/v1`, apiKey: 'test' });
const telemetry = (functionId) => ({ isEnabled: true, functionId, tracer, metadata: { userId: 'user-vercel-1', sessionId: 'sess-vercel-1' } });

// A tool loop: two provider calls and one tool call under one ai.generateText.
await generateText({
  model: openai.chat('gpt-4.1'),
  system: 'You are the billing assistant of Acme.',
  prompt: `Refund order A-77 for ${MARK}`,
  tools: { refund: tool({ description: 'Refund an order', inputSchema: z.object({ order: z.string(), email: z.string() }),
    execute: async ({ order, email }) => `refunded ${order}, receipt to ${email}` }) },
  stopWhen: stepCountIs(3),
  temperature: 0.3,
  maxOutputTokens: 400,
  experimental_telemetry: telemetry('refund-flow'),
});
const stream = streamText({ model: openai.chat('gpt-4.1-mini'), prompt: `Where is the order of ${MARK}?`, experimental_telemetry: telemetry('order-status') });
for await (const _ of stream.textStream) { /* drain */ }
await generateObject({ model: openai.chat('gpt-4.1'), schema: z.object({ email: z.string(), intent: z.string() }),
  prompt: `Classify: "${MARK} wants a refund"`, experimental_telemetry: telemetry('classify') });
await generateText({ model: anthropic('claude-3-5-haiku-latest'), prompt: `Note the address ${MARK}`, experimental_telemetry: telemetry('note') });
await embed({ model: openai.textEmbeddingModel('text-embedding-3-small'), value: `customer ${MARK}`, experimental_telemetry: telemetry('embed') });

server.close();
const spans = exporter.getFinishedSpans();
process.stdout.write(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)));
process.stderr.write(`${spans.length} spans, ${calls} provider calls\n`);
