// Sealed values are bound to their place (workspace uid, resource uid, field path): tests that read raw rows find
// a value's place the way `keys rewrap` does, by walking the store, and open it there.
import { createCipheriv, randomBytes } from 'node:crypto';
import { mapSealedInColumn } from '../../src/domain/sealed-places.js';
import type { SealPlace, Vault } from '../../src/services/vault.js';
import type { Db } from '../../src/storage/database.js';
import { SEALED_TABLES, pageSealedRows } from '../../src/storage/sealed-values-repo.js';

/** Every sealed value in the store, with its place. */
export async function sealedPlaces(db: Db): Promise<Map<string, SealPlace>> {
  const places = new Map<string, SealPlace>();
  for (const table of SEALED_TABLES) {
    for (const row of await pageSealedRows(db.kysely, table, undefined, 100_000)) {
      for (const column of table.columns) {
        mapSealedInColumn(column, JSON.parse(row.texts[column]!), (sealed, path) => {
          places.set(sealed, { ...row.owner, path });
          return sealed;
        });
      }
    }
  }
  return places;
}

/** The place of a value stored somewhere in the store; throws when it is stored nowhere. */
export async function placeOfStored(db: Db, sealed: string): Promise<SealPlace> {
  const place = (await sealedPlaces(db)).get(sealed);
  if (!place) throw new Error(`${sealed.slice(0, 24)}… is stored nowhere`);
  return place;
}

/** Opens a value stored somewhere in the store, at its place. */
export async function openStored(db: Db, vault: Vault, sealed: string): Promise<string> {
  return vault.open(sealed, await placeOfStored(db, sealed));
}

/** A value sealed the way plugboard did before values were bound to their place (format v1, no additional data). */
export function sealUnbound(master: { readonly id: string; readonly key: Buffer }, plaintext: string): string {
  const gcm = (key: Buffer, data: Buffer) => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    return Buffer.concat([iv, cipher.update(data), cipher.final(), cipher.getAuthTag()]).toString('base64url');
  };
  const dataKey = randomBytes(32);
  return `pbenc:v1:${master.id}:${gcm(master.key, dataKey)}:${gcm(dataKey, Buffer.from(plaintext, 'utf8'))}`;
}
