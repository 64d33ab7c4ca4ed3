import { createCipheriv, createDecipheriv, hash, hkdfSync, randomFillSync } from 'node:crypto';
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
  /**
   * Whether a sealed value opens at this place to exactly this plaintext: a write that sends the stored secret
   * again keeps it as it is. A value sealed for another place does not (it is simply replaced).
   */
  holds(sealed: string, place: SealPlace, plaintext: string): boolean;
  /** The master-key id a sealed value was wrapped with. */
  keyIdOf(sealed: string): string;
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
  const body = cipher.update(plaintext);
  // GCM is a stream mode: final() adds no bytes, it computes the tag.
  cipher.final();
  return Buffer.concat([iv, body, cipher.getAuthTag()], IV_BYTES + body.length + TAG_BYTES);
}

function decrypt(key: Buffer, sealed: Buffer, aad?: Buffer): Buffer {
  const iv = sealed.subarray(0, IV_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAuthTag(tag);
  if (aad) decipher.setAAD(aad);
  const plaintext = decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES));
  // Checks the tag (and throws if it does not match); GCM adds no bytes here.
  decipher.final();
  return plaintext;
}

const DATA_KEY_BYTES = 32;
/** How many data keys the vault keeps unwrapped: the ones it made or opened last. */
const REMEMBERED_DATA_KEYS = 10_000;
/**
 * How many values one data key seals before the vault makes the next. Each seal draws a random 96-bit nonce;
 * NIST SP 800-38D allows 2^32 of them per key, and 2^16 keeps the chance that two ever repeat below 2^-64.
 */
const SEALS_PER_DATA_KEY = 65_536;
/** How many bound values the vault remembers the plaintext digest of: the ones it sealed or compared last. */
const REMEMBERED_PLAINTEXTS = 10_000;
const DIGEST_BYTES = 32;

/**
 * Blocks of one fixed size by name, the last `slots` entered, in one block of memory (first in, first out): no
 * entry holds a pooled buffer alive, and the memory never grows.
 */
function createBlockMemory(slots: number, blockBytes: number) {
  const block = Buffer.alloc(slots * blockBytes);
  const names: (string | undefined)[] = new Array<string | undefined>(slots);
  const slotOf = new Map<string, number>();
  let next = 0;
  return {
    /** A view of the remembered block: read it before the next `remember`, which may reuse its slot. */
    recall(name: string): Buffer | undefined {
      const slot = slotOf.get(name);
      return slot === undefined ? undefined : block.subarray(slot * blockBytes, (slot + 1) * blockBytes);
    },
    remember(name: string, value: Buffer) {
      if (slotOf.has(name)) return;
      const slot = next;
      next = (next + 1) % slots;
      const evicted = names[slot];
      if (evicted !== undefined) slotOf.delete(evicted);
      names[slot] = name;
      slotOf.set(name, slot);
      value.copy(block, slot * blockBytes);
    },
  };
}

/**
 * Envelope encryption with AES-256-GCM: secrets are sealed under data keys, each wrapped by the active master
 * key. A node seals up to 65,536 values under one data key (each under a random nonce, bound to its place), then
 * makes the next. The stored form names the master key id, so older keys keep opening what they sealed while new
 * writes use the first key of the list.
 *
 * Stored form: `pbenc:v2:<keyId>:<wrapped data key>:<ciphertext>`, both parts base64url of iv|data|tag. The
 * ciphertext's additional authenticated data is its place (workspace uid, resource uid, field path), which the
 * opener supplies: the place is not in the stored form, and a value moved anywhere else fails to open. The older
 * `pbenc:v1:` form has no place.
 *
 * What a node keeps in memory, beside the master keys that could unwrap or open all of it anyway:
 * - the data keys of the last 10,000 values it sealed or opened, so that opening a value whose key is here costs
 *   one AES-GCM operation instead of two (the gateway opens the same credentials call after call). Only a wrapped
 *   form that was made here or that unwrapped under its master key is ever entered, so a forged one still has to
 *   unwrap;
 * - for the last 10,000 bound values it sealed or compared, a digest of their place and plaintext (SHA-256 under
 *   a random prefix of this vault's own), so that a write comparing a secret with the stored one (`holds`) hashes
 *   instead of decrypting. Only the exact stored form that was sealed or opened here is ever entered.
 */
export function createVault(keys: readonly MasterKey[]): Vault {
  const active = keys[0];
  if (!active) throw new Error('At least one master key is required.');
  const byId = new Map(keys.map((k) => [k.id, k.key]));
  const dataKeys = createBlockMemory(REMEMBERED_DATA_KEYS, DATA_KEY_BYTES);
  const plaintexts = createBlockMemory(REMEMBERED_PLAINTEXTS, DIGEST_BYTES);
  const digestPrefix = randomFillSync(Buffer.alloc(32));
  /** The digest of a plaintext at a place: the place's additional data is JSON, so where it ends is unambiguous. */
  const digestOf = (aad: Buffer, plaintext: Buffer) =>
    hash('sha256', Buffer.concat([digestPrefix, aad, plaintext]), 'buffer') as unknown as Buffer;
  /** The data key new values are sealed under, with the first part of their stored form, until it has sealed its share. */
  let sealing: { readonly dataKey: Buffer; readonly prefix: string; left: number } | undefined;

  const parse = (sealed: string) => {
    const parts = sealed.split(':');
    if (parts.length !== 5 || `${parts[0]}:` !== SEALED_PREFIX || (parts[1] !== VERSION && parts[1] !== LEGACY)) {
      throw new Error('Not a sealed value of a known version.');
    }
    const body = Buffer.from(parts[4]!, 'base64url');
    return {
      bound: parts[1] === VERSION,
      keyId: parts[2]!,
      wrappedText: parts[3]!,
      body,
      bodyText: parts[4]!,
    };
  };

  /** The data key of a value: remembered, or unwrapped with its master key (and remembered). */
  const dataKeyOf = (keyId: string, wrappedText: string) => {
    const name = `${keyId}:${wrappedText}`;
    const remembered = dataKeys.recall(name);
    if (remembered) return remembered;
    const masterKey = byId.get(keyId);
    if (!masterKey) throw new Error(`Master key "${keyId}" is not configured; add it to PLUGBOARD_MASTER_KEYS.`);
    const dataKey = decrypt(masterKey, Buffer.from(wrappedText, 'base64url'));
    if (dataKey.length === DATA_KEY_BYTES) dataKeys.remember(name, dataKey);
    return dataKey;
  };

  /** The plaintext of a bound value at its place; anything else is a value that does not belong there. */
  const openBound = (dataKey: Buffer, body: Buffer, place: SealPlace) => {
    try {
      return decrypt(dataKey, body, aadOf(place));
    } catch {
      throw new MisplacedSealedValue(place.path);
    }
  };

  /**
   * The stored form up to its ciphertext, for a data key wrapped by the active master key (and now remembered):
   * `pbenc:v2:<keyId>:<wrapped data key>:`.
   */
  const wrappedPrefix = (dataKey: Buffer) => {
    const wrappedText = encrypt(active.key, dataKey).toString('base64url');
    dataKeys.remember(`${active.id}:${wrappedText}`, dataKey);
    return `${SEALED_PREFIX}${VERSION}:${active.id}:${wrappedText}:`;
  };

  const sealingKey = () => {
    if (sealing === undefined || sealing.left === 0) {
      const dataKey = randomFillSync(Buffer.alloc(DATA_KEY_BYTES));
      sealing = { dataKey, prefix: wrappedPrefix(dataKey), left: SEALS_PER_DATA_KEY };
    }
    sealing.left--;
    return sealing;
  };

  const seal = (plaintext: string, place: SealPlace) => {
    const { dataKey, prefix } = sealingKey();
    const aad = aadOf(place);
    const text = Buffer.from(plaintext, 'utf8');
    const sealed = prefix + encrypt(dataKey, text, aad).toString('base64url');
    plaintexts.remember(sealed, digestOf(aad, text));
    return sealed;
  };

  return {
    activeKeyId: active.id,
    keyIds: keys.map((k) => k.id),
    seal,
    open(sealed, place) {
      const { bound, keyId, wrappedText, body } = parse(sealed);
      const dataKey = dataKeyOf(keyId, wrappedText);
      return (bound ? openBound(dataKey, body, place) : decrypt(dataKey, body)).toString('utf8');
    },
    holds(sealed, place, plaintext) {
      const { bound, keyId, wrappedText, body } = parse(sealed);
      const text = Buffer.from(plaintext, 'utf8');
      // AES-GCM keeps the length: a plaintext of another length cannot be the stored one.
      if (body.length - IV_BYTES - TAG_BYTES !== text.length) return false;
      if (!bound) return decrypt(dataKeyOf(keyId, wrappedText), body).equals(text);
      const aad = aadOf(place);
      const digest = plaintexts.recall(sealed);
      if (digest) return digest.equals(digestOf(aad, text));
      const dataKey = dataKeyOf(keyId, wrappedText);
      let opened: Buffer;
      try {
        opened = decrypt(dataKey, body, aad);
      } catch {
        return false; // sealed for another place
      }
      plaintexts.remember(sealed, digestOf(aad, opened));
      return opened.equals(text);
    },
    keyIdOf: (sealed) => parse(sealed).keyId,
    isBound: (sealed) => parse(sealed).bound,
    deriveKey(purpose, keyId = active.id) {
      const masterKey = byId.get(keyId);
      return masterKey && Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `plugboard:${purpose}`, 32));
    },
    rewrap(sealed, place) {
      const { bound, keyId, wrappedText, body, bodyText } = parse(sealed);
      const dataKey = dataKeyOf(keyId, wrappedText);
      if (!bound) return seal(decrypt(dataKey, body).toString('utf8'), place);
      // Opening the ciphertext proves the data key belongs to it, and the value to this place, before anything is rewritten.
      openBound(dataKey, body, place);
      return keyId === active.id ? sealed : wrappedPrefix(Buffer.from(dataKey)) + bodyText;
    },
  };
}
