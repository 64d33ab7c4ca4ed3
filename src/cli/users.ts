import type { Config } from '../config.js';
import { openConfiguredDb } from '../app.js';
import { DomainError } from '../domain/errors.js';
import type { Role } from '../domain/permissions.js';
import { migrateToLatest } from '../storage/database.js';
import { findWorkspace } from '../storage/workspace-repo.js';
import { isUniqueViolation } from '../storage/write-conflicts.js';
import { createWriter } from '../storage/writer.js';
import { systemClock } from '../services/clock.js';
import { createUserWithPassword } from '../services/user-service.js';

/**
 * The password, read from standard input: never from argv, where `ps` and shell history would show it. The
 * first line counts (its line ending dropped), so `printf '%s\n' "$PW" | plugboard users create …` works.
 */
export async function readPassword(input: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    size += buffer.length;
    if (size > 4096) throw new Error('the password on standard input is longer than 4096 bytes');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0]!;
}

/** `plugboard users create`: a user with a password and a role in an existing workspace. */
export async function createUser(
  config: Config,
  input: { email: string; displayName: string; workspace: string; role: Role; password: string },
  out: (line: string) => void,
): Promise<void> {
  const db = openConfiguredDb(config);
  try {
    await migrateToLatest(db);
    if (!(await findWorkspace(db.kysely, input.workspace)))
      throw new Error(`workspace "${input.workspace}" does not exist`);
    const body = { email: input.email, displayName: input.displayName, password: input.password, role: input.role };
    const user = await createUserWithPassword(createWriter(db), systemClock, input.workspace, body).catch(
      (error: unknown) => {
        if (isUniqueViolation(error)) throw new Error(`a user with the email "${input.email}" exists already`);
        if (error instanceof DomainError) throw new Error(error.message);
        throw error;
      },
    );
    out(`user ${user.id} (${user.email}, "${user.displayName}"): ${user.role} of ${input.workspace}`);
  } finally {
    await db.close();
  }
}
