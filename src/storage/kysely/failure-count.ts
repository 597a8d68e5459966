import type { UpdateQueryBuilder, UpdateResult } from "kysely";
import type { Database } from "./database.js";
import { toTimeText } from "./time-text.js";

/** The tables whose rows count failed verifications and lock at a limit. */
type LockingTable = "authenticators" | "webauthn_credentials" | "recovery_code_sets";

/** What counting a failure left: the count, and the lock's time once the limit is reached. */
export interface FailureCount {
  readonly failedAttempts: number;
  readonly lockedAt?: string;
}

/**
 * Counts one failed verification on the row `row` selects, and locks it at the `limit`-th
 * failure in a row, in one UPDATE: of two concurrent failures each counts (the row lock on
 * PostgreSQL, the write lock on SQLite, orders them), and only the failure that reaches the
 * limit sets the lock's time. Undefined when the row is not there.
 */
export async function countFailure<T extends LockingTable>(
  row: UpdateQueryBuilder<Database, T, T, UpdateResult>,
  limit: number,
  at: string,
): Promise<FailureCount | undefined> {
  // The three tables have these two columns alike; Kysely cannot type a `set` over a union of
  // tables, so the builder is seen as one of them.
  const counted = await (
    row as unknown as UpdateQueryBuilder<Database, "authenticators", "authenticators", UpdateResult>
  )
    .set((eb) => ({
      failed_attempts: eb("failed_attempts", "+", 1),
      locked_at: eb
        .case()
        .when(eb.and([eb("locked_at", "is", null), eb("failed_attempts", ">=", limit - 1)]))
        .then(toTimeText(at, "at"))
        .else(eb.ref("locked_at"))
        .end(),
    }))
    .returning(["failed_attempts", "locked_at"])
    .executeTakeFirst();
  if (counted === undefined) return undefined;
  return {
    failedAttempts: counted.failed_attempts,
    ...(counted.locked_at === null ? {} : { lockedAt: counted.locked_at }),
  };
}
