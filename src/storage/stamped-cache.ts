import type { Kysely } from 'kysely';
import { ANY_TABLE } from './change-stamps.js';
import type { Db } from './database.js';
import type { Database } from './schema.js';
import { recordingOf, recordingReads } from './watch-changes.js';

interface Entry<V> {
  readonly value: V;
  /** The watched tables its lookup read: a change to any other table leaves it good. */
  readonly tables: readonly string[];
  /** The tables' stamp when it was read. */
  readonly stamp: number;
  readonly at: number;
}

export interface StampedCacheOptions {
  /** Entries kept; the oldest is dropped first. */
  readonly limit: number;
  /**
   * How long an entry may be used at most, whatever the stamps say: a bound on staleness should a change
   * notification go missing without the listener noticing (a network that drops packets silently).
   */
  readonly maxAgeMs: number;
}

const ANY: readonly string[] = [ANY_TABLE];

/**
 * A cache of lookups in the store, each entry good while the stamp of the tables its lookup read is current.
 * A lookup reads through the query builder it is handed, which records the tables its statements read
 * (watch-changes.ts), so no list of tables is kept by hand that could fall behind the query; a lookup that ran no
 * statement through it depends on every table. An entry is stored only when no change at all was signalled
 * while it was being read, so a lookup that raced with a commit is never kept. Misses (undefined) are not
 * cached. A lookup that uses another stamped cache passes it its own query builder (`within`), and so inherits
 * what that cache's entry depends on.
 */
export function createStampedCache<K, V>(db: Pick<Db, 'changes' | 'kysely'>, options: StampedCacheOptions) {
  const stamps = db.changes;
  const entries = new Map<K, Entry<V>>();
  return {
    async get(
      key: K,
      load: (db: Kysely<Database>) => Promise<V | undefined>,
      within?: Kysely<Database>,
    ): Promise<V | undefined> {
      const stamp = stamps.current();
      const now = Date.now();
      const outer = recordingOf(within);
      if (stamp !== undefined) {
        const entry = entries.get(key);
        if (entry && stamps.of(entry.tables) === entry.stamp && now - entry.at < options.maxAgeMs) {
          if (outer) for (const table of entry.tables) outer.add(table);
          return entry.value;
        }
      }
      const read = new Set<string>();
      const value = await load(recordingReads(db.kysely, read));
      const tables = read.size > 0 ? [...read] : ANY;
      if (outer) for (const table of tables) outer.add(table);
      if (value !== undefined && stamp !== undefined && stamps.current() === stamp) {
        entries.delete(key);
        if (entries.size >= options.limit) entries.delete(entries.keys().next().value!);
        entries.set(key, { value, tables, stamp: stamps.of(tables), at: now });
      }
      return value;
    },
    clear() {
      entries.clear();
    },
  };
}
