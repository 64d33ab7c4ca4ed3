import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { inlineAliasBomb, sharedSchemaBomb } from '../../test/support/bomb-documents.js';
import { ConversionLimitError } from '../openapi/conversion-limits.js';
import { OpenApiError } from '../openapi/convert-openapi.js';
import { LimitExceeded } from './limit-exceeded.js';
import { createOpenApiConverter, type ConversionBounds } from './openapi-converter.js';

const petstore = readFileSync(new URL('../openapi/fixtures/petstore-3.0.yaml', import.meta.url), 'utf8');
const budget = { maxSchemaBytes: 16 * 1024 };
const roomy: ConversionBounds = {
  timeoutMs: 20_000,
  memoryMb: 256,
  threads: 1,
  maxOperations: 1_000_000,
  maxToolSchemaBytes: 2 ** 40,
  maxToolsetSchemaBytes: 2 ** 40,
};

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail('converted'),
    (error: unknown) => error,
  );
}

describe('createOpenApiConverter', () => {
  const converters: { close(): Promise<void> }[] = [];
  const converter = (bounds: Partial<ConversionBounds>) => {
    const created = createOpenApiConverter({ ...roomy, ...bounds });
    converters.push(created);
    return created;
  };
  after(() => Promise.all(converters.map((c) => c.close())));

  it('converts on a worker thread, and gives errors back as the classes they were', async () => {
    const pets = converter({});
    assert.deepEqual(
      (await pets.convert(petstore, {}, budget)).catalog.tools.map((tool) => tool.name),
      ['listPets', 'createPet', 'showPetById', 'replacePet', 'deletePet'],
    );
    const broken = await rejection(pets.convert('openapi: 9.0.0', {}, budget));
    assert.ok(broken instanceof OpenApiError && !(broken instanceof ConversionLimitError), String(broken));
    const limited = await rejection(converter({ maxOperations: 1 }).convert(petstore, {}, budget));
    assert.ok(limited instanceof ConversionLimitError, String(limited));
    assert.equal(limited.limit, 'maxOperations');
  });

  it('stops a conversion at its deadline, and its worker with it', async () => {
    // Shared schemas are kept once, so the shared-schema bomb alone converts within a second on a quiet machine;
    // with 300,000 more list items the whole conversion takes about 1.2 s on a quiet machine (measured), so the
    // deadline is 300 ms: a 1 s deadline was met by a quiet machine now and then.
    const items = Array.from({ length: 300_000 }, (_, i) => `  - item ${i}`).join('\n');
    const document = `${sharedSchemaBomb()}x-padding:\n${items}\n`;
    const started = performance.now();
    const error = await rejection(converter({ timeoutMs: 300 }).convert(document, {}, budget));
    assert.ok(error instanceof LimitExceeded, String(error));
    assert.equal(error.limit, 'conversionTimeoutMs');
    assert.equal(error.message, 'the conversion took longer than 300 ms');
    assert.ok(performance.now() - started < 5000);
    // A worker left running would keep a core busy.
    const before = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const used = process.cpuUsage(before);
    assert.ok((used.user + used.system) / 1000 < 250, `${(used.user + used.system) / 1000} ms of CPU in 500 ms`);
  });

  it('stops a conversion that outgrows its memory, and the process lives on', async () => {
    const error = await rejection(converter({ memoryMb: 48 }).convert(inlineAliasBomb(), {}, budget));
    assert.ok(error instanceof LimitExceeded, String(error));
    assert.equal(error.limit, 'conversionMemoryMb');
    assert.equal(error.message, 'the conversion needed more than 48 MB of memory');
  });

  it('runs at most `threads` conversions at once, each deadline starting with its own work', async () => {
    const one = converter({ threads: 1, timeoutMs: 3000 });
    const results = await Promise.all(Array.from({ length: 4 }, () => one.convert(petstore, {}, budget)));
    assert.equal(results.length, 4);
  });
});
