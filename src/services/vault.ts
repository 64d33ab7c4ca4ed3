import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { SEALED_PREFIX } from '../domain/secrets.js';

/** Seals and opens secrets. Callers see strings only; the key material stays inside. */
export interface Vault {
  seal(plaintext: string): string;
  open(sealed: string): string;
  /** The master-key id a sealed value was wrapped with. */
  keyIdOf(sealed: string): string;
  /**
   * The same sealed value with its data key wrapped by the active master key; the ciphertext part is kept.
   * A value already on the active key comes back unchanged.
   */
  rewrap(sealed: string): string;
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

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

function encrypt(key: Buffer, plaintext: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

function decrypt(key: Buffer, sealed: Buffer): Buffer {
  const iv = sealed.subarray(0, IV_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
}

/**
 * Envelope encryption with AES-256-GCM: each secret gets its own data key, which is wrapped by the active
 * master key. The stored form names the master key id, so older keys keep opening what they sealed while
 * new writes use the first key of the list.
 *
 * Stored form: `pbenc:v1:<keyId>:<wrapped data key>:<ciphertext>`, both parts base64url of iv|data|tag.
 */
export function createVault(keys: readonly MasterKey[]): Vault {
  const active = keys[0];
  if (!active) throw new Error('At least one master key is required.');
  const byId = new Map(keys.map((k) => [k.id, k.key]));

  const parse = (sealed: string) => {
    const parts = sealed.split(':');
    if (parts.length !== 5 || `${parts[0]}:` !== SEALED_PREFIX || parts[1] !== VERSION) {
      throw new Error('Not a sealed value of a known version.');
    }
    return { keyId: parts[2]!, wrapped: Buffer.from(parts[3]!, 'base64url'), body: Buffer.from(parts[4]!, 'base64url'), bodyText: parts[4]! };
  };

  const dataKeyOf = (keyId: string, wrapped: Buffer) => {
    const masterKey = byId.get(keyId);
    if (!masterKey) throw new Error(`Master key "${keyId}" is not configured; add it to PLUGBOARD_MASTER_KEYS.`);
    return decrypt(masterKey, wrapped);
  };

  const format = (wrapped: Buffer, bodyText: string) => `${SEALED_PREFIX}${VERSION}:${active.id}:${wrapped.toString('base64url')}:${bodyText}`;

  return {
    activeKeyId: active.id,
    keyIds: keys.map((k) => k.id),
    seal(plaintext) {
      const dataKey = randomBytes(32);
      const body = encrypt(dataKey, Buffer.from(plaintext, 'utf8'));
      return format(encrypt(active.key, dataKey), body.toString('base64url'));
    },
    open(sealed) {
      const { keyId, wrapped, body } = parse(sealed);
      return decrypt(dataKeyOf(keyId, wrapped), body).toString('utf8');
    },
    keyIdOf: (sealed) => parse(sealed).keyId,
    deriveKey(purpose, keyId = active.id) {
      const masterKey = byId.get(keyId);
      return masterKey && Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `plugboard:${purpose}`, 32));
    },
    rewrap(sealed) {
      const { keyId, wrapped, body, bodyText } = parse(sealed);
      if (keyId === active.id) return sealed;
      const dataKey = dataKeyOf(keyId, wrapped);
      // Opening the ciphertext proves the data key belongs to it before anything is rewritten.
      decrypt(dataKey, body);
      return format(encrypt(active.key, dataKey), bodyText);
    },
  };
}
