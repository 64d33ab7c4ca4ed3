import { createECDH, createHash } from 'node:crypto';
import type { Vault } from './vault.js';

/** A private ES256 key as a JWK (what oidc-provider signs with), and its public half (what verifiers use). */
export interface SigningKey {
  readonly privateJwk: Readonly<Record<string, string>>;
  readonly publicJwk: Readonly<Record<string, string>>;
}

const PURPOSE = 'oauth-token-signing';
const COOKIE_PURPOSE = 'oauth-cookies';
/** The order of P-256's group: a private scalar is in [1, n-1]. */
const P256_ORDER = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

const b64u = (bytes: Buffer) => bytes.toString('base64url');

/**
 * The ES256 key derived from one master key (HKDF, see Vault.deriveKey): every node with the same master keys
 * derives the same key pair, so a token signed on one node verifies on every other, and nothing is stored.
 */
function derive(vault: Vault, keyId: string): SigningKey {
  const seed = vault.deriveKey(PURPOSE, keyId)!;
  // Reduced into [1, n-1]: 32 random bytes are at least n with probability 2^-32, and zero is no key.
  const scalar = (BigInt(`0x${seed.toString('hex')}`) % (P256_ORDER - 1n)) + 1n;
  const d = Buffer.from(scalar.toString(16).padStart(64, '0'), 'hex');
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(d);
  const point = ecdh.getPublicKey();
  const publicJwk = {
    kty: 'EC',
    crv: 'P-256',
    x: b64u(point.subarray(1, 33)),
    y: b64u(point.subarray(33, 65)),
    alg: 'ES256',
    use: 'sig',
    // Names the key without naming the master key it comes from.
    kid: createHash('sha256').update(point).digest('base64url').slice(0, 16),
  };
  return { publicJwk, privateJwk: { ...publicJwk, d: b64u(d) } };
}

/** One signing key per master key, the active one first (it signs; the others still verify during a rotation). */
export function oauthSigningKeys(vault: Vault): readonly SigningKey[] {
  return vault.keyIds.map((id) => derive(vault, id));
}

/** Keys for the authorization server's signed cookies, the active master key's first. */
export function oauthCookieKeys(vault: Vault): string[] {
  return vault.keyIds.map((id) => vault.deriveKey(COOKIE_PURPOSE, id)!.toString('base64url'));
}
