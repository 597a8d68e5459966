import type { Kysely } from "kysely";
import type { EnrolmentStore } from "../../app/ports.js";
import type { Database } from "./database.js";

/**
 * Reads which principals of a tenant hold which platform authenticators, one query per kind: each
 * table's key starts with (tenant, principal), so every query walks one tenant's part of an index.
 */
export function createEnrolmentRepository(db: Kysely<Database>): EnrolmentStore {
  const ids = (rows: readonly { principal: string }[]) => rows.map((row) => row.principal);
  return {
    async enrolledPrincipals(tenant) {
      const totp = await db
        .selectFrom("authenticators")
        .select("principal")
        .distinct()
        .where("tenant", "=", tenant)
        .where("status", "=", "active")
        .orderBy("principal")
        .execute();
      const webauthn = await db
        .selectFrom("webauthn_credentials")
        .select("principal")
        .distinct()
        .where("tenant", "=", tenant)
        .orderBy("principal")
        .execute();
      // Only the current set's codes are stored (a replacement drops the old set's).
      const recoveryCodes = await db
        .selectFrom("recovery_codes")
        .select("principal")
        .distinct()
        .where("tenant", "=", tenant)
        .where("used_at", "is", null)
        .orderBy("principal")
        .execute();
      return { totp: ids(totp), webauthn: ids(webauthn), recoveryCodes: ids(recoveryCodes) };
    },
  };
}
