import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { MasterKey } from './vault.js';

/**
 * Master keys for the embedded default: read from the key file, or on first start generate one and write
 * it with mode 0600. The file holds `id:base64key` lines, active key first, the same form as PLUGBOARD_MASTER_KEYS.
 */
export function loadOrCreateKeyFile(path: string): { keys: MasterKey[]; created: boolean } {
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (text === undefined) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const id = `local-${randomBytes(3).toString('hex')}`;
    writeFileSync(path, `${id}:${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(path, 0o600);
    return { keys: loadOrCreateKeyFile(path).keys, created: true };
  }
  if ((statSync(path).mode & 0o077) !== 0) {
    throw new Error(`Master key file ${path} is readable by other users; run: chmod 600 ${path}`);
  }
  const keys = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line, index) => {
      const [id, material] = line.split(':');
      const key = Buffer.from(material ?? '', 'base64');
      if (!id || key.length !== 32)
        throw new Error(`Master key file ${path}, line ${index + 1}: expected "id:base64key" with a 32-byte key.`);
      return { id, key };
    });
  if (keys.length === 0) throw new Error(`Master key file ${path} holds no key.`);
  return { keys, created: false };
}
