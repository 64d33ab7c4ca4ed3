// Two nodes on one store. On PostgreSQL each node's writer remembers the rows it last wrote and writes over them
// without a lock, on condition that the row has not moved; SQLite reads each row under its write lock. Whatever a
// node remembers, a row another node moved meanwhile must be neither overwritten nor judged by its old state: a
// stale If-Match is refused, and a change without one lands on top of the other node's.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, createTestStore, startTestApp, type TestApp } from './support/stores.js';
import { RESOURCES, WS, revisionIn, type Resource } from './support/row-resources.js';

/** Top-level strings, and strings one object down (a merge patch of labels), of a body. */
function stringsOf(body: object): [string[], string][] {
  const found: [string[], string][] = [];
  for (const [field, value] of Object.entries(body)) {
    if (typeof value === 'string') found.push([[field], value]);
    else if (value && typeof value === 'object')
      for (const [inner, innerValue] of Object.entries(value))
        if (typeof innerValue === 'string') found.push([[field, inner], innerValue]);
  }
  return found;
}

const at = (body: any, path: string[]) => path.reduce((value, field) => value?.[field], body);

for (const engine of ENGINES) {
  describe(`a row moved by another node [${engine}]`, () => {
    let near: TestApp;
    let far: TestApp;
    before(async () => {
      const store = await createTestStore(engine);
      near = await startTestApp(engine, { store });
      far = await startTestApp(engine, { store });
    });
    after(async () => {
      // The other node first: `stop` drops the store they share.
      await far?.close();
      await near?.stop();
    });

    const auditOf = async (resource: Resource, id: string) => {
      const audit = resource.auditPath?.(id) ?? `${WS}/audit`;
      const reply = await near.call('GET', `${audit}?resourceType=${resource.type}&resourceId=${id}&limit=200`);
      assert.equal(reply.status, 200, reply.text);
      return (reply.body.items as { action: string; fromRevision: number; toRevision: number }[])
        .filter((e) => e.action === `${resource.type}:update`)
        .map((e) => [e.fromRevision, e.toRevision])
        .sort((a, b) => a[0]! - b[0]!);
    };

    for (const [index, resource] of RESOURCES.entries()) {
      it(`${resource.type}: refuses an ETag the other node made stale, and changes the row as the other node left it`, async () => {
        const id = await resource.create(near, `moved-${engine}-${index}`);
        const path = resource.path(id);
        const { method } = resource.change;
        const start = revisionIn(await near.call('GET', path));

        // This node writes the row (and remembers it as it wrote it), then the other node changes it.
        const mine = await near.call(method, path, { body: resource.also[0] });
        assert.equal(mine.status, 200, mine.text);
        assert.equal(revisionIn(mine), start + 1);
        const theirs = await far.call(method, path, {
          body: resource.change.body,
          headers: { 'if-match': String(mine.headers.etag) },
        });
        assert.equal(theirs.status, 200, theirs.text);
        assert.equal(revisionIn(theirs), start + 2);

        const stale = await near.call(method, path, {
          body: resource.also[1],
          headers: { 'if-match': String(mine.headers.etag) },
        });
        assert.equal(stale.status, 412, `${stale.status} ${stale.text}`);
        assert.equal(revisionIn(await near.call('GET', path)), start + 2, 'the refused change wrote nothing');

        const again = await near.call(method, path, { body: resource.also[1] });
        assert.equal(again.status, 200, again.text);
        assert.equal(revisionIn(again), start + 3, 'on top of the other node’s revision');
        const stored = (await far.call('GET', path)).body;
        const last = stringsOf(resource.also[1]);
        for (const [field, value] of last) assert.equal(at(stored, field), value, field.join('.'));
        for (const [field, value] of stringsOf(resource.change.body))
          if (
            !last.some(([named]) => named.join('.') === field.join('.')) &&
            !resource.writeOnly?.includes(field.join('.'))
          )
            assert.equal(at(stored, field), value, `${field.join('.')}: the other node's change is kept`);
        assert.deepEqual(await auditOf(resource, id), [
          [start, start + 1],
          [start + 1, start + 2],
          [start + 2, start + 3],
        ]);
      });
    }
  });
}
