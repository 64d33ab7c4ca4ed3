import { ANY_TABLE, type ChangeStamps } from './change-stamps.js';
import { currentRecording, recordingReads } from './watch-changes.js';

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
 * A cache of lookups in the store, each entry good while the stamp of the tables its lookup read is current:
 * the statements a lookup runs are recorded as it runs (watch-changes.ts), so no list of tables is kept by hand
 * that could fall behind the query. A lookup that ran no statement depends on every table. An entry is stored
 * only when no change at all was signalled while it was being read, so a lookup that raced with a commit is
 * never kept. Misses (undefined) are not cached. A lookup that uses another stamped cache inherits what that
 * cache's entry depends on.
 */
export function createStampedCache<K, V>(stamps: ChangeStamps, options: StampedCacheOptions) {
  const entries = new Map<K, Entry<V>>();
  return {
    async get(key: K, load: () => Promise<V | undefined>): Promise<V | undefined> {
      const stamp = stamps.current();
      const now = Date.now();
      const outer = currentRecording();
      if (stamp !== undefined) {
        const entry = entries.get(key);
        if (entry && stamps.of(entry.tables) === entry.stamp && now - entry.at < options.maxAgeMs) {
          if (outer) for (const table of entry.tables) outer.add(table);
          return entry.value;
        }
      }
      const read = new Set<string>();
      const value = await recordingReads(read, load);
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
