import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { errorCodes } from 'fastify';
import { Piscina } from 'piscina';
import { tooDeep } from '../domain/json-input.js';
import type { JsonParseReply } from './parse-json-task.js';

/**
 * Bodies from this size on are parsed on a worker thread. Below it the worker's round trip (two copies of the
 * text and of the value) costs more than the parse; above it the parse and the depth scan are what would hold the
 * event loop: a 22 MB toolset body (Microsoft Graph's document) takes about 0.4 s on the main thread, during
 * which no other request is served.
 */
export const OFF_THREAD_JSON_BYTES = 1024 * 1024;

// .ts from the sources (tsx's loader reaches the worker through execArgv), .js in dist/.
const here = fileURLToPath(import.meta.url);
const TASK_FILE = join(dirname(here), `parse-json-task${extname(here)}`);

type Done = (error: Error | null, value?: unknown) => void;

/**
 * A JSON body parser that takes large bodies off the event loop: one worker thread (started on the first large
 * body, stopped after a second idle, which gives its memory back) parses them one at a time; a small body is parsed at once by `inline`. A body
 * the worker refuses gets the same errors as the inline parser (too deep: 400 naming the depth; not JSON or
 * poisoned: Fastify's FST_ERR_CTP_INVALID_JSON_BODY).
 */
export function createJsonBodyParser() {
  let pool: Piscina | undefined;
  return {
    /** Parses `text` into `done`: through `inline` when it is small, on the worker when it is large. */
    parse(text: string, inline: (text: string, done: Done) => void, done: Done): void {
      if (text.length < OFF_THREAD_JSON_BYTES) return inline(text, done);
      pool ??= new Piscina({
        filename: TASK_FILE,
        name: 'parseJsonTask',
        minThreads: 0,
        maxThreads: 1,
        idleTimeout: 1_000,
      });
      pool.run(text).then(
        (reply: JsonParseReply) => {
          if (reply.ok) done(null, reply.value);
          else done(reply.reason === 'too-deep' ? tooDeep('') : new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY());
        },
        (error: Error) => done(error),
      );
    },
    close: async () => {
      await pool?.destroy();
    },
  };
}
