import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import { isPlainRequest, readMessages } from './protocol.js';

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
