import { sql, type Kysely } from "kysely";
import type { EnrolmentStore } from "../../app/ports.js";
import type { Database } from "./database.js";

/**
 * Reads which principals of a tenant hold which platform authenticators, in one statement: each
 * table's key starts with (tenant, principal), so each part walks one tenant's part of an index.
 * One statement reads one snapshot on both stores (SQLite's read of a WAL, PostgreSQL's under
 * READ COMMITTED) without a transaction that would hold SQLite's one connection: a principal who
 * moves from one kind to another meanwhile is never read with neither.
 */
export function createEnrolmentRepository(db: Kysely<Database>): EnrolmentStore {
  return {
    async enrolledPrincipals(tenant) {
      const totp = db
        .selectFrom("authenticators")
        .select([sql<string>`'totp'`.as("kind"), "principal"])
        .where("tenant", "=", tenant)
        .where("status", "=", sql.lit("active"));
      const webauthn = db
        .selectFrom("webauthn_credentials")
        .select([sql<string>`'webauthn'`.as("kind"), "principal"])
        .where("tenant", "=", tenant);
      // Only the current set's codes are stored (a replacement drops the old set's).
      const recoveryCodes = db
        .selectFrom("recovery_codes")
        .select([sql<string>`'recovery_codes'`.as("kind"), "principal"])
        .where("tenant", "=", tenant)
        .where("used_at", "is", null);
      // UNION, not UNION ALL: each (kind, principal) once.
      const rows = await totp.union(webauthn).union(recoveryCodes).orderBy("principal").execute();
      const of = (kind: string) =>
        rows.filter((row) => row.kind === kind).map((row) => row.principal);
      return { totp: of("totp"), webauthn: of("webauthn"), recoveryCodes: of("recovery_codes") };
    },
  };
}
