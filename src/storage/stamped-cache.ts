import type { ChangeStamps } from './change-stamps.js';

interface Entry<V> {
  readonly value: V;
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

/**
 * A cache of lookups in the store, each entry good while the change stamp it was read under is current.
 * An entry is stored only when no change was signalled while it was being read, so a lookup that raced with a
 * commit is never kept. Misses (undefined) are not cached.
 */
export function createStampedCache<K, V>(stamps: ChangeStamps, options: StampedCacheOptions) {
  const entries = new Map<K, Entry<V>>();
  return {
    async get(key: K, load: () => Promise<V | undefined>): Promise<V | undefined> {
      const stamp = stamps.current();
      const now = Date.now();
      if (stamp !== undefined) {
        const entry = entries.get(key);
        if (entry && entry.stamp === stamp && now - entry.at < options.maxAgeMs) return entry.value;
      }
      const value = await load();
      if (value !== undefined && stamp !== undefined && stamps.current() === stamp) {
        entries.delete(key);
        if (entries.size >= options.limit) entries.delete(entries.keys().next().value!);
        entries.set(key, { value, stamp, at: now });
      }
      return value;
    },
    clear() {
      entries.clear();
    },
  };
}
