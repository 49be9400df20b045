const UNIQUE_VIOLATION = '23505';

/** Postgres refused a row because a unique constraint (or partial unique index) already holds its value. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const e = error as { code?: string; constraint?: string; driverError?: { code?: string; constraint?: string } };
  const code = e?.code ?? e?.driverError?.code;
  const name = e?.constraint ?? e?.driverError?.constraint;
  return code === UNIQUE_VIOLATION && (!constraint || name === constraint);
}
