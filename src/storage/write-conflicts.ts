/** Thrown inside a unit of work when a conditional write lost a race; the whole unit is retried. */
export class StaleWrite extends Error {
  constructor() {
    super('The row changed during the write.');
  }
}

/**
 * PostgreSQL gave up on the transaction to let others go on: it broke a deadlock (40P01) or could not serialise
 * it (40001). Nothing of it was committed, so running the unit of work again is safe.
 */
export function isTransientConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

/** A unique index refused the row: the edges turn this into a 409. */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown } | null;
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
