import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createBatchedCalls } from './batched-calls.js';

describe('batched calls', () => {
  it('answers calls that arrive together with one run, at most maxBatch each and inFlight at once', async () => {
    const runs: number[][] = [];
    let running = 0;
    let mostRunning = 0;
    const call = createBatchedCalls<number, number>({
      maxBatch: 4,
      inFlight: 2,
      async run(items) {
        runs.push([...items]);
        mostRunning = Math.max(mostRunning, ++running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running--;
        return items.map((n) => n * 10);
      },
    });
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => call(i)));
    assert.deepEqual(answers, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    assert.deepEqual(runs, [
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    assert.equal(mostRunning, 2);
    assert.deepEqual(await call(11), 110, 'a call alone is a batch of one');
  });

  it('fails every call of a batch whose run fails, or answers another number of results, and goes on', async () => {
    let mode: 'throw' | 'short' | 'ok' = 'throw';
    const call = createBatchedCalls<string, string>({
      maxBatch: 10,
      inFlight: 1,
      run: async (items) => {
        if (mode === 'throw') throw new Error('store unreachable');
        return mode === 'short' ? items.slice(1) : items.map((s) => s.toUpperCase());
      },
    });
    const failed = await Promise.allSettled([call('a'), call('b')]);
    assert.deepEqual(
      failed.map((r) => r.status === 'rejected' && (r.reason as Error).message),
      ['store unreachable', 'store unreachable'],
    );
    mode = 'short';
    await assert.rejects(Promise.all([call('a'), call('b')]), /A batch of 2 calls was answered with 1 results/);
    mode = 'ok';
    assert.deepEqual(await Promise.all([call('a'), call('b')]), ['A', 'B']);
  });
});
