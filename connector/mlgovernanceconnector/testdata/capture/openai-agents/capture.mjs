// Captures an OpenAI Agents SDK run (one agent, one function tool: two model
// calls and a tool call) under @arizeai/openinference-instrumentation-openai-agents,
// against a fake OpenAI chat completions API on 127.0.0.1. Writes OTLP/JSON
// to stdout.
import http from 'node:http';
import * as agents from '@openai/agents';
import { OpenAI } from 'openai';
import { z } from 'zod';
import { trace, context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { OpenAIAgentsInstrumentation } from '@arizeai/openinference-instrumentation-openai-agents';

const MARK = 'jane@example.com';
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'agents-app' }),
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
trace.setGlobalTracerProvider(provider);
new OpenAIAgentsInstrumentation({ tracerProvider: provider }).manuallyInstrument(agents);

let calls = 0;
const server = http.createServer((req, res) => {
  let raw = '';
  req.on('data', (c) => (raw += c));
  req.on('end', () => {
    calls++;
    const body = JSON.parse(raw || '{}');
    const toolDone = (body.messages || []).some((m) => m.role === 'tool');
    res.writeHead(200, { 'content-type': 'application/json' });
    const message = toolDone
      ? { role: 'assistant', content: `Refunded; a receipt goes to ${MARK}.` }
      : { role: 'assistant', content: null, tool_calls: [{ id: 'call_refund_1', type: 'function',
          function: { name: 'refund', arguments: JSON.stringify({ email: MARK }) } }] };
    res.end(JSON.stringify({ id: `chatcmpl-a${calls}`, object: 'chat.completion', created: 1767265200, model: 'gpt-4.1-2025-04-14',
      choices: [{ index: 0, message, finish_reason: toolDone ? 'stop' : 'tool_calls' }],
      usage: toolDone ? { prompt_tokens: 140, completion_tokens: 12, total_tokens: 152 } : { prompt_tokens: 120, completion_tokens: 18, total_tokens: 138 } }));
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
agents.setDefaultOpenAIClient(new OpenAI({ baseURL: `http://127.0.0.1:${server.address().port}/v1`, apiKey: 'test', maxRetries: 0 }));
agents.setOpenAIAPI('chat_completions');

const refund = agents.tool({ name: 'refund', description: 'Refund the last order of a customer',
  parameters: z.object({ email: z.string() }), execute: async ({ email }) => `refunded, receipt to ${email}` });
const agent = new agents.Agent({ name: 'Support agent', instructions: 'You are the support agent of Acme.', model: 'gpt-4.1', tools: [refund] });
await agents.withTrace('support', async () => {
  await agents.run(agent, `Refund ${MARK}`);
}, { groupId: 'sess-agents', metadata: { user_id: 'user-ag' } });
await agents.getGlobalTraceProvider().forceFlush();
server.close();
const spans = exporter.getFinishedSpans();
process.stdout.write(JSON.stringify(JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans))), null, 1));
process.stderr.write(`${spans.length} spans, ${calls} model calls\n`);
