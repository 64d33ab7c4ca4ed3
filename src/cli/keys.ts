import { InvalidArgumentError } from 'commander';
import type { Config } from '../config.js';
import { loadMasterKeys, openConfiguredDb } from '../app.js';
import { migrateToLatest } from '../storage/database.js';
import { createKeyRotationService, type KeyStatus } from '../services/key-rotation-service.js';
import { createVault } from '../services/vault.js';

type Output = (line: string) => void;
type KeyRotation = ReturnType<typeof createKeyRotationService>;

/** Opens the store with the configured master keys for the length of one command. */
async function withKeyRotation<T>(
  config: Config,
  body: (rotation: KeyRotation, activeKeyId: string) => Promise<T>,
): Promise<T> {
  const vault = createVault(loadMasterKeys(config));
  const db = openConfiguredDb(config);
  try {
    await migrateToLatest(db);
    return await body(createKeyRotationService({ db, vault }), vault.activeKeyId);
  } finally {
    await db.close();
  }
}

/** Values still wrapped by a key other than the active one. */
const valuesOffActive = (status: KeyStatus) =>
  status.keys.filter((k) => !k.isActive).reduce((sum, k) => sum + k.values, 0);

function printStatus(status: KeyStatus, out: Output): void {
  const width = Math.max(3, ...status.keys.map((k) => k.keyId.length));
  out(`active key: ${status.activeKeyId}`);
  out(`${'key'.padEnd(width)}  values`);
  for (const k of status.keys) {
    const note = k.isActive ? '  (active)' : k.isConfigured ? '' : '  (NOT CONFIGURED: these values cannot be read)';
    out(`${k.keyId.padEnd(width)}  ${String(k.values).padStart(6)}${note}`);
  }
  const { total, withSealedValues, toRewrap } = status.rows;
  out(`rows: ${total} (${withSealedValues} hold sealed values, ${toRewrap} need a rewrap)`);
  if (status.unrecognised > 0)
    out(`${status.unrecognised} strings look sealed but are in no format this version reads`);
  if (status.unbound > 0)
    out(`${status.unbound} values are not bound to their place (older format): run plugboard keys rewrap`);
  const off = valuesOffActive(status);
  out(
    off === 0
      ? 'every sealed value uses the active key: keys other than it can be removed'
      : `${off} values use older keys: run plugboard keys rewrap`,
  );
}

/** `plugboard keys status`: sealed values per master key over the whole store. */
export async function keysStatus(config: Config, out: Output): Promise<void> {
  printStatus(await withKeyRotation(config, (rotation) => rotation.status()), out);
}

/**
 * `plugboard keys rewrap`: moves every sealed value onto the active key, bound to its place (older unbound values
 * are sealed again). False when some are still left.
 */
export async function keysRewrap(config: Config, options: { batchSize: number }, out: Output): Promise<boolean> {
  return withKeyRotation(config, async (rotation, activeKeyId) => {
    out(`re-wrapping onto key "${activeKeyId}", ${options.batchSize} rows per batch`);
    const result = await rotation.rewrap({
      batchSize: options.batchSize,
      onProgress: (p) =>
        out(`${p.table}: ${p.rowsScanned} rows scanned, ${p.valuesRewrapped} values re-wrapped, ${p.retries} retried`),
    });
    out(
      `done: ${result.valuesRewrapped} values in ${result.rowsRewrapped} of ${result.rowsScanned} rows re-wrapped; ` +
        `${result.retries} times a row changed under the rewrap and was read again`,
    );
    if (result.misplaced > 0) {
      out(
        `${result.misplaced} values do not belong where they are stored (sealed for another field, resource or workspace) and were left as they are: they open nowhere; enter those secrets again`,
      );
    }
    printStatus(result.after, out);
    const left = valuesOffActive(result.after) + result.after.unbound;
    // Only a node that still seals with an older key (not restarted with the new list) writes such values.
    if (left > 0)
      out(
        `${left} values were written with an older key during the run: restart every node with the new key first, then run again`,
      );
    return left === 0;
  });
}

export function parseBatchSize(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000)
    throw new InvalidArgumentError('expected a whole number from 1 to 10000.');
  return n;
}
