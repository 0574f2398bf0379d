// Captures two OpenAI Agents SDK runs (one agent, one function tool: two
// model calls and a tool call each) under
// @arizeai/openinference-instrumentation-openai-agents, against a fake OpenAI
// API on 127.0.0.1: one in chat completions mode, one in the SDK's default
// Responses API mode. Writes OTLP/JSON to stdout.
//
// User and session: the instrumentation does not copy the SDK trace's
// groupId or metadata onto spans (its onTraceStart sets only the span kind
// and llm.system), but its tracer (openinference-core's OITracer) copies
// the OpenInference context attributes of the active context onto every
// span it starts. So the app sets them the way OpenInference documents,
// setUser / setSession with context.with around run(); the trace's groupId
// and metadata are set too, as an Agents SDK user would, and are lost.
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
import { setSession, setUser } from '@arizeai/openinference-core';

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
// The fake API answers the first call of a run with a refund tool call and
// the second (after the tool result) with text; usage differs per call and
// per mode so that sums can be checked.
const server = http.createServer((req, res) => {
  let raw = '';
  req.on('data', (c) => (raw += c));
  req.on('end', () => {
    calls++;
    const body = JSON.parse(raw || '{}');
    res.writeHead(200, { 'content-type': 'application/json' });
    if (req.url.endsWith('/responses')) {
      const input = Array.isArray(body.input) ? body.input : [];
      const toolDone = input.some((m) => m.type === 'function_call_output');
      const output = toolDone
        ? [{ type: 'message', id: 'msg_r2', role: 'assistant', status: 'completed',
            content: [{ type: 'output_text', text: `Refunded; a receipt goes to ${MARK}.`, annotations: [] }] }]
        : [{ type: 'function_call', id: 'fc_r1', call_id: 'call_refund_r1', name: 'refund', status: 'completed',
            arguments: JSON.stringify({ email: MARK }) }];
      const usage = toolDone ? { input_tokens: 160, output_tokens: 11, total_tokens: 171 } : { input_tokens: 130, output_tokens: 21, total_tokens: 151 };
      res.end(JSON.stringify({ id: `resp_${calls}`, object: 'response', created_at: 1767265200, status: 'completed',
        model: 'gpt-4.1-2025-04-14', output, parallel_tool_calls: true, tool_choice: 'auto', tools: [],
        usage: { ...usage, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } } }));
      return;
    }
    const toolDone = (body.messages || []).some((m) => m.role === 'tool');
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

const refund = agents.tool({ name: 'refund', description: 'Refund the last order of a customer',
  parameters: z.object({ email: z.string() }), execute: async ({ email }) => `refunded, receipt to ${email}` });
const agent = new agents.Agent({ name: 'Support agent', instructions: 'You are the support agent of Acme.', model: 'gpt-4.1', tools: [refund] });

// run is one conversation turn of user in session, attributed the
// OpenInference way.
async function run(api, user, session) {
  agents.setOpenAIAPI(api);
  const ctx = setSession(setUser(context.active(), { userId: user }), { sessionId: session });
  await context.with(ctx, () => agents.withTrace('support', async () => {
    await agents.run(agent, `Refund ${MARK}`);
  }, { groupId: session, metadata: { user_id: user } }));
}
await run('chat_completions', 'user-ag', 'sess-agents');
await run('responses', 'user-ag-2', 'sess-agents-2');
await agents.getGlobalTraceProvider().forceFlush();
server.close();
const spans = exporter.getFinishedSpans();
process.stdout.write(JSON.stringify(JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans))), null, 1));
process.stderr.write(`${spans.length} spans, ${calls} model calls\n`);
