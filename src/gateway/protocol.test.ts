import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import { checkBatchAllowed, createAnswerBudget, isPlainRequest, readMessages } from './protocol.js';

/** Values shaped like JSON-RPC messages, right and wrong in every field. */
const messageLike = fc.record(
  {
    jsonrpc: fc.constantFrom('2.0', '1.0', 2),
    id: fc.oneof(fc.string(), fc.integer(), fc.double(), fc.constant(null), fc.boolean()),
    method: fc.oneof(fc.constantFrom('tools/call', 'ping', 'initialize'), fc.string(), fc.integer()),
    params: fc.oneof(
      fc.dictionary(fc.string(), fc.jsonValue()),
      fc.record({ _meta: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.string()) }),
      fc.array(fc.jsonValue()),
      fc.string(),
      fc.constant(null),
    ),
    result: fc.dictionary(fc.string(), fc.jsonValue()),
    extra: fc.jsonValue(),
  },
  { requiredKeys: [] },
);

describe('JSON-RPC messages', () => {
  it('takes a request without the schema only when the SDK schema accepts it unchanged', () => {
    fc.assert(
      fc.property(messageLike, (value) => {
        const parsed = JSON.parse(JSON.stringify(value)) as unknown;
        if (!isPlainRequest(parsed)) return;
        const checked = JSONRPCMessageSchema.safeParse(parsed);
        assert.ok(checked.success, JSON.stringify(parsed));
        assert.deepEqual(checked.data, parsed);
      }),
      { numRuns: 5000 },
    );
  });

  it('reads what the schema accepts and refuses what it refuses, with or without the shortcut', () => {
    fc.assert(
      fc.property(messageLike, (value) => {
        const text = JSON.stringify(value);
        const accepted = JSONRPCMessageSchema.safeParse(JSON.parse(text)).success;
        let read: boolean;
        try {
          readMessages(text, 1);
          read = true;
        } catch {
          read = false;
        }
        assert.equal(read, accepted, text);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('gateway bounds on messages', () => {
  it('refuses batches from protocol 2025-06-18 on, and longer batches than allowed before anything is checked', () => {
    assert.doesNotThrow(() => checkBatchAllowed(true, '2025-03-26'));
    assert.doesNotThrow(() => checkBatchAllowed(false, '2025-11-25'));
    for (const version of ['2025-06-18', '2025-11-25'])
      assert.throws(() => checkBatchAllowed(true, version), { status: 400, rpcCode: -32600 });
    const batch = (n: number) =>
      JSON.stringify(Array.from({ length: n }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'ping' })));
    assert.equal(readMessages(batch(3), 3).messages.length, 3);
    assert.throws(() => readMessages(batch(4), 3), {
      status: 413,
      message: /a batch of 4 messages; this server takes at most 3/,
    });
    assert.throws(() => readMessages('[1, 2, 3, 4]', 3), { status: 413 }, 'counted before the items are checked');
  });

  it('keeps one answer within its byte budget, replacing the answers that would overflow it by short errors', () => {
    const fit = createAnswerBudget(100);
    const answer = (id: number, text: string) => ({ jsonrpc: '2.0' as const, id, result: { text } });
    const first = fit(answer(1, 'é'.repeat(20)));
    assert.deepEqual(JSON.parse(first).result, { text: 'é'.repeat(20) });
    const second = JSON.parse(fit(answer(2, 'x'.repeat(60))));
    assert.equal(second.id, 2);
    assert.match(second.error.message, /larger than 100 bytes/);
  });
});
