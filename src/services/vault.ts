import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import { randomBytesFromPool } from '../domain/random-bytes.js';
import { SEALED_PREFIX } from '../domain/secrets.js';

/**
 * Where a sealed value lives: the workspace and resource (by uid, never by a name that can be reused) and the
 * field inside the resource (a path that reordering a list does not change). A value opens only at its place.
 */
export interface SealPlace {
  /** The workspace's uid; '' for what belongs to no workspace (a principal's signing key). */
  readonly workspaceUid: string;
  readonly resourceUid: string;
  readonly path: string;
}

/** Seals and opens secrets. Callers see strings only; the key material stays inside. */
export interface Vault {
  /** Seals a secret for one place: the additional authenticated data of AES-GCM binds it there. */
  seal(plaintext: string, place: SealPlace): string;
  /**
   * Opens a value at the place it is read from. A value sealed for another place (copied to another field,
   * resource or workspace) throws {@link MisplacedSealedValue}. Values of the older unbound format open anywhere
   * until `keys rewrap` binds them.
   */
  open(sealed: string, place: SealPlace): string;
  /** The master-key id a sealed value was wrapped with. */
  keyIdOf(sealed: string): string;
  /**
   * How many bytes (UTF-8) the plaintext of a sealed value has, read off its stored form without opening it:
   * AES-GCM keeps the length, so the stored form shows it anyway.
   */
  plaintextBytes(sealed: string): number;
  /** Whether a sealed value is bound to its place (format v2); v1 values are not. */
  isBound(sealed: string): boolean;
  /**
   * The same value on the active master key and bound to `place`: an unbound (v1) value is sealed again for it;
   * a bound one must belong there and keeps its ciphertext part, its data key wrapped by the active key. A value
   * already both bound and on the active key comes back unchanged.
   */
  rewrap(sealed: string, place: SealPlace): string;
  /**
   * A 32-byte key for one purpose (signing gateway session ids, say), derived with HKDF from a master key:
   * the active one by default. Undefined for a key id that is not configured.
   */
  deriveKey(purpose: string, keyId?: string): Buffer | undefined;
  readonly activeKeyId: string;
  /** Every configured master-key id, active first. */
  readonly keyIds: readonly string[];
}

export interface MasterKey {
  readonly id: string;
  readonly key: Buffer;
}

/** Unbound values, sealed before values were bound to their place: still opened, re-sealed by `keys rewrap`. */
const LEGACY = 'v1';
const VERSION = 'v2';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Thrown when a sealed value is opened somewhere it was not sealed for; it says where, never what. */
export class MisplacedSealedValue extends Error {
  constructor(readonly path: string) {
    super(
      `The sealed value at ${path} was not sealed for this place (copied from another field, resource or workspace?); it is not opened. Enter the secret again.`,
    );
    this.name = 'MisplacedSealedValue';
  }
}

/** The additional authenticated data of a bound value: unambiguous, whatever characters the parts hold. */
const aadOf = (place: SealPlace) =>
  Buffer.from(JSON.stringify(['plugboard-sealed-v2', place.workspaceUid, place.resourceUid, place.path]), 'utf8');

function encrypt(key: Buffer, plaintext: Buffer, aad?: Buffer): Buffer {
  const iv = randomBytesFromPool(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  if (aad) cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

function decrypt(key: Buffer, sealed: Buffer, aad?: Buffer): Buffer {
  const iv = sealed.subarray(0, IV_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAuthTag(tag);
  if (aad) decipher.setAAD(aad);
  return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
}

/**
 * Envelope encryption with AES-256-GCM: each secret gets its own data key, which is wrapped by the active
 * master key. The stored form names the master key id, so older keys keep opening what they sealed while
 * new writes use the first key of the list.
 *
 * Stored form: `pbenc:v2:<keyId>:<wrapped data key>:<ciphertext>`, both parts base64url of iv|data|tag. The
 * ciphertext's additional authenticated data is its place (workspace uid, resource uid, field path), which the
 * opener supplies: the place is not in the stored form, and a value moved anywhere else fails to open. The older
 * `pbenc:v1:` form has no place.
 */
export function createVault(keys: readonly MasterKey[]): Vault {
  const active = keys[0];
  if (!active) throw new Error('At least one master key is required.');
  const byId = new Map(keys.map((k) => [k.id, k.key]));

  const parse = (sealed: string) => {
    const parts = sealed.split(':');
    if (parts.length !== 5 || `${parts[0]}:` !== SEALED_PREFIX || (parts[1] !== VERSION && parts[1] !== LEGACY)) {
      throw new Error('Not a sealed value of a known version.');
    }
    const body = Buffer.from(parts[4]!, 'base64url');
    return {
      bound: parts[1] === VERSION,
      keyId: parts[2]!,
      wrapped: Buffer.from(parts[3]!, 'base64url'),
      body,
      bodyText: parts[4]!,
    };
  };

  const dataKeyOf = (keyId: string, wrapped: Buffer) => {
    const masterKey = byId.get(keyId);
    if (!masterKey) throw new Error(`Master key "${keyId}" is not configured; add it to PLUGBOARD_MASTER_KEYS.`);
    return decrypt(masterKey, wrapped);
  };

  /** The plaintext of a bound value at its place; anything else is a value that does not belong there. */
  const openBound = (dataKey: Buffer, body: Buffer, place: SealPlace) => {
    try {
      return decrypt(dataKey, body, aadOf(place));
    } catch {
      throw new MisplacedSealedValue(place.path);
    }
  };

  const format = (wrapped: Buffer, bodyText: string) =>
    `${SEALED_PREFIX}${VERSION}:${active.id}:${wrapped.toString('base64url')}:${bodyText}`;

  const seal = (plaintext: string, place: SealPlace) => {
    const dataKey = randomBytesFromPool(32);
    const body = encrypt(dataKey, Buffer.from(plaintext, 'utf8'), aadOf(place));
    return format(encrypt(active.key, dataKey), body.toString('base64url'));
  };

  return {
    activeKeyId: active.id,
    keyIds: keys.map((k) => k.id),
    seal,
    open(sealed, place) {
      const { bound, keyId, wrapped, body } = parse(sealed);
      const dataKey = dataKeyOf(keyId, wrapped);
      return (bound ? openBound(dataKey, body, place) : decrypt(dataKey, body)).toString('utf8');
    },
    keyIdOf: (sealed) => parse(sealed).keyId,
    plaintextBytes: (sealed) => parse(sealed).body.length - IV_BYTES - TAG_BYTES,
    isBound: (sealed) => parse(sealed).bound,
    deriveKey(purpose, keyId = active.id) {
      const masterKey = byId.get(keyId);
      return masterKey && Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `plugboard:${purpose}`, 32));
    },
    rewrap(sealed, place) {
      const { bound, keyId, wrapped, body, bodyText } = parse(sealed);
      const dataKey = dataKeyOf(keyId, wrapped);
      if (!bound) return seal(decrypt(dataKey, body).toString('utf8'), place);
      // Opening the ciphertext proves the data key belongs to it, and the value to this place, before anything is rewritten.
      openBound(dataKey, body, place);
      return keyId === active.id ? sealed : format(encrypt(active.key, dataKey), bodyText);
    },
  };
}
