import { isSealed, mapSecrets } from '../domain/secrets.js';
import type { Vault } from './vault.js';

/**
 * Seals the secrets of a settings object for storage. The mask keeps what is stored; a plaintext equal to
 * the stored one keeps the stored ciphertext too, so writing back what you read is a no-op.
 */
export function sealSettings(
  vault: Vault,
  next: Readonly<Record<string, unknown>>,
  stored: unknown,
  path: string,
  type?: string,
): Record<string, unknown> {
  return mapSecrets(next, stored, { path, type, seal: (plaintext, previous) => sealValue(vault, plaintext, previous) }) as Record<
    string,
    unknown
  >;
}

/** Seals one secret value with the same keep-if-unchanged rule. `undefined` plaintext means "keep". */
export function sealValue(vault: Vault, plaintext: string | undefined, previous: unknown): string {
  if (plaintext === undefined) return previous as string;
  if (isSealed(previous) && vault.open(previous) === plaintext) return previous;
  return vault.seal(plaintext);
}
