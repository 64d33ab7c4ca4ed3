import { mapSealedInColumn, type SealedColumn } from '../domain/sealed-places.js';
import { listSealed } from '../domain/secrets.js';
import type { Db } from '../storage/database.js';
import {
  SEALED_TABLES,
  countRows,
  findSealedText,
  isLockBusy,
  pageSealedRows,
  swapSealedText,
  yieldRowLocks,
  type RowKey,
  type SealedRow,
  type SealedTable,
} from '../storage/sealed-values-repo.js';
import { createWriter } from '../storage/writer.js';
import type { Executor, Tx } from '../storage/engine.js';
import { MisplacedSealedValue, type Vault } from './vault.js';

/** How many sealed values one master key wraps. */
export interface KeyUsage {
  readonly keyId: string;
  readonly values: number;
  readonly isActive: boolean;
  /** False for a key id found in the store but missing from the configuration: those values cannot be read. */
  readonly isConfigured: boolean;
}

export interface KeyStatus {
  readonly activeKeyId: string;
  /** Configured keys first (active first), then key ids found only in the store. */
  readonly keys: readonly KeyUsage[];
  readonly rows: { readonly total: number; readonly withSealedValues: number; readonly toRewrap: number };
  /** Values of the older format, not bound to their place: `keys rewrap` seals them again, bound. */
  readonly unbound: number;
  /** Strings that start like a sealed value but are not one this version can parse; no key opens them. */
  readonly unrecognised: number;
}

export interface RewrapTotals {
  readonly rowsScanned: number;
  readonly rowsRewrapped: number;
  readonly valuesRewrapped: number;
  /**
   * Values that do not belong where they are stored (sealed for another field, resource or workspace: copied
   * there). They open nowhere, so they are left as they are; the secrets must be entered again.
   */
  readonly misplaced: number;
  /** Times a row changed between our read and our write, or was locked by a writer, and was read again. */
  readonly retries: number;
}

export interface RewrapResult extends RewrapTotals {
  /** The status once every batch is done: values a node still writes with an older key show up here. */
  readonly after: KeyStatus;
}

const STATUS_PAGE = 500;
const MAX_ATTEMPTS = 5;
/** Well below PostgreSQL's default deadlock_timeout (1 s), so a request's transaction never waits long on us. */
const LOCK_WAIT_MS = 200;
const MAX_BATCH_ATTEMPTS = 20;

const pause = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(10 * 2 ** attempt, 500)));

const describeRow = (table: SealedTable, key: RowKey, column: string) => `${table.name} ${key.join('/')} (${column})`;

/**
 * Master-key rotation over the whole store: which keys the sealed values use, and re-wrapping them onto
 * the active key in short batches while the servers keep writing. Values of the older unbound format are sealed
 * again, bound to their place (workspace uid, resource uid, field path). Re-wrapping changes no logical value, so
 * it bumps no revision, touches no timestamp and writes no audit event.
 */
export function createKeyRotationService(deps: { db: Db; vault: Vault }) {
  const { db, vault } = deps;
  const writer = createWriter(db);

  const keyIdOf = (sealed: string): string | undefined => {
    try {
      return vault.keyIdOf(sealed);
    } catch {
      return undefined;
    }
  };

  async function* allRows(executor: Executor, table: SealedTable) {
    for (let after: RowKey | undefined; ;) {
      const rows = await pageSealedRows(executor, table, after, STATUS_PAGE);
      yield* rows;
      if (rows.length < STATUS_PAGE) return;
      after = rows[rows.length - 1]!.key;
    }
  }

  async function status(): Promise<KeyStatus> {
    const counts = new Map<string, number>(vault.keyIds.map((id) => [id, 0]));
    const rows = { total: 0, withSealedValues: 0, toRewrap: 0 };
    let unrecognised = 0;
    let unbound = 0;
    for (const table of SEALED_TABLES) {
      rows.total += await countRows(db.kysely, table);
      for await (const row of allRows(db.kysely, table)) {
        let sealed = 0;
        let stale = false;
        for (const text of Object.values(row.texts)) {
          for (const value of listSealed(JSON.parse(text))) {
            const keyId = keyIdOf(value);
            if (keyId === undefined) {
              unrecognised++;
              continue;
            }
            sealed++;
            const isBound = vault.isBound(value);
            if (!isBound) unbound++;
            stale ||= keyId !== vault.activeKeyId || !isBound;
            counts.set(keyId, (counts.get(keyId) ?? 0) + 1);
          }
        }
        if (sealed > 0) rows.withSealedValues++;
        if (stale) rows.toRewrap++;
      }
    }
    const configured = new Set(vault.keyIds);
    const keys = [...counts].map(([keyId, values]) => ({
      keyId,
      values,
      isActive: keyId === vault.activeKeyId,
      isConfigured: configured.has(keyId),
    }));
    return { activeKeyId: vault.activeKeyId, keys, rows, unrecognised, unbound };
  }

  /**
   * The column's JSON with every sealed value on the active key and bound to its place (the row's uids and the
   * value's path), how many values that changed, and how many do not belong there (left as they are).
   */
  function rewrapText(text: string, where: string, row: Pick<SealedRow, 'owner'>, column: SealedColumn) {
    const parsed: unknown = JSON.parse(text);
    // The store writes JSON.stringify output; anything else would not survive the round trip byte for byte.
    if (JSON.stringify(parsed) !== text)
      throw new Error(`${where} is not stored as plugboard writes JSON; it was left as it is.`);
    let changed = 0;
    let misplaced = 0;
    const next = mapSealedInColumn(column, parsed, (sealed, path) => {
      if (keyIdOf(sealed) === undefined) return sealed;
      let rewrapped: string;
      try {
        rewrapped = vault.rewrap(sealed, { ...row.owner, path });
      } catch (error) {
        if (error instanceof MisplacedSealedValue) {
          misplaced++;
          return sealed;
        }
        throw new Error(`Cannot re-wrap a value in ${where}: ${(error as Error).message}`, { cause: error });
      }
      if (rewrapped !== sealed) changed++;
      return rewrapped;
    });
    return { text: changed === 0 ? text : JSON.stringify(next), changed, misplaced };
  }

  /** Re-wraps one column of one row; on a lost compare-and-swap it reads the row again and retries. */
  async function rewrapColumn(tx: Tx, table: SealedTable, row: SealedRow, column: SealedColumn) {
    const { key } = row;
    const where = describeRow(table, key, column);
    let text: string | undefined = row.texts[column];
    let misplaced = 0;
    let attempt = 1;
    for (; text !== undefined; attempt++) {
      const next = rewrapText(text, where, row, column);
      misplaced = next.misplaced;
      if (next.changed === 0) break;
      if (await swapSealedText(tx, table, key, column, text, next.text))
        return { changed: next.changed, misplaced, retries: attempt - 1 };
      if (attempt === MAX_ATTEMPTS)
        throw new Error(`${where} changed ${MAX_ATTEMPTS} times while being re-wrapped; run the rewrap again.`);
      // Someone wrote the row since we read it: start again from what is stored now (undefined: deleted).
      text = await findSealedText(tx, table, key, column);
    }
    return { changed: 0, misplaced, retries: attempt - 1 };
  }

  async function rewrapBatch(table: SealedTable, after: RowKey | undefined, batchSize: number) {
    return writer.write(async (tx) => {
      await yieldRowLocks(tx, db.engine, LOCK_WAIT_MS);
      const rows = await pageSealedRows(tx, table, after, batchSize);
      let rowsRewrapped = 0;
      let valuesRewrapped = 0;
      let misplaced = 0;
      let retries = 0;
      for (const row of rows) {
        let changedInRow = 0;
        for (const column of table.columns) {
          const outcome = await rewrapColumn(tx, table, row, column);
          changedInRow += outcome.changed;
          misplaced += outcome.misplaced;
          retries += outcome.retries;
        }
        valuesRewrapped += changedInRow;
        if (changedInRow > 0) rowsRewrapped++;
      }
      return {
        last: rows[rows.length - 1]?.key,
        rows: rows.length,
        rowsRewrapped,
        valuesRewrapped,
        misplaced,
        retries,
      };
    });
  }

  /** A batch that met a busy row lock gave way and rolled back; it runs again on fresh data. */
  async function rewrapBatchYielding(table: SealedTable, after: RowKey | undefined, batchSize: number) {
    for (let attempt = 1; ; attempt++) {
      try {
        const batch = await rewrapBatch(table, after, batchSize);
        return { ...batch, retries: batch.retries + attempt - 1 };
      } catch (error) {
        if (!isLockBusy(error) || attempt === MAX_BATCH_ATTEMPTS) throw error;
        await pause(attempt);
      }
    }
  }

  /**
   * Re-wraps every sealed value that is not on the active key, `batchSize` rows per transaction. Refuses to
   * start, writing nothing, when the store holds values of a key that is not configured.
   */
  async function rewrap(options: {
    batchSize: number;
    onProgress?: (progress: RewrapTotals & { table: string }) => void;
  }): Promise<RewrapResult> {
    const missing = (await status()).keys.filter((k) => !k.isConfigured && k.values > 0);
    if (missing.length > 0) {
      const list = missing.map((k) => `"${k.keyId}" (${k.values} values)`).join(', ');
      throw new Error(
        `The store holds values sealed with master keys that are not configured: ${list}. Add them to PLUGBOARD_MASTER_KEYS and run again; nothing was re-wrapped.`,
      );
    }
    const totals = { rowsScanned: 0, rowsRewrapped: 0, valuesRewrapped: 0, misplaced: 0, retries: 0 };
    for (const table of SEALED_TABLES) {
      for (let after: RowKey | undefined; ;) {
        const batch = await rewrapBatchYielding(table, after, options.batchSize);
        totals.rowsScanned += batch.rows;
        totals.rowsRewrapped += batch.rowsRewrapped;
        totals.valuesRewrapped += batch.valuesRewrapped;
        totals.misplaced += batch.misplaced;
        totals.retries += batch.retries;
        if (batch.rows > 0) options.onProgress?.({ table: table.name, ...totals });
        if (batch.last === undefined || batch.rows < options.batchSize) break;
        after = batch.last;
      }
    }
    return { ...totals, after: await status() };
  }

  return { status, rewrap };
}
