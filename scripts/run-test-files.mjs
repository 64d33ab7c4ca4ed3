// Runs the test files named on the command line, two at a time, in the order given, with the spec reporter, and
// exits non-zero if any test failed. (`node --test` sorts the files it is given by name; node:test's run() keeps
// their order.) Started by run-tests.mjs with `--import tsx`, which each file's process inherits.
import { run } from 'node:test';
import { spec } from 'node:test/reporters';

const files = process.argv.slice(2);
let failed = false;
const stream = run({ files, concurrency: 2 });
stream.on('test:fail', () => {
  failed = true;
});
stream.compose(spec).pipe(process.stdout);
process.on('beforeExit', () => {
  if (failed) process.exitCode = 1;
});
