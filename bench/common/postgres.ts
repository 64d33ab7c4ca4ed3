/** PostgreSQL helpers of the benchmarks: a schema of its own per server, and the CPU time of its backends. */
import type pg from 'pg';
import { cpuTicks } from './processes.js';

/**
 * A connection string whose sessions work in `schema` only, and name themselves after it so that their
 * backends can be found in pg_stat_activity.
 */
export const inSchema = (url: string, schema: string) =>
  `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}&application_name=${schema}`;

/**
 * CPU ticks per process of the PostgreSQL backends serving `schema`, plus the WAL writer, checkpointer and
 * background writer. Other databases' clients on the same server (a test suite, say) are left out.
 */
export async function postgresTicks(admin: pg.Client, schema: string): Promise<Map<number, number>> {
  const { rows } = await admin.query<{ pid: number }>(
    "select pid from pg_stat_activity where application_name = $1 or backend_type in ('walwriter', 'checkpointer', 'background writer')",
    [schema],
  );
  const ticks = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      ticks.set(pid, cpuTicks(pid));
    } catch {
      // The backend ended meanwhile (or PostgreSQL is on another machine: then there is nothing to read).
    }
  }
  return ticks;
}

/** Ticks spent between two readings; a backend that started in between counts from zero. */
export const ticksBetween = (before: Map<number, number>, after: Map<number, number>) =>
  [...after].reduce((sum, [pid, ticks]) => sum + ticks - (before.get(pid) ?? 0), 0);
