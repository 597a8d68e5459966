import { sql, type Kysely, type Migration } from "kysely";

/**
 * Requested exemptions gain a partial index by requester, through which a key's revocation finds
 * the requests it withdraws (`ExemptionStore.listRequestedBy`) without reading every tenant's
 * exemptions. It holds the requests awaiting a decision only. Its predicate is a literal, and the
 * query repeats it (exemption-repository.ts), which is what lets either planner use it.
 */
export const exemptionsRequestedByMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createIndex("exemptions_requested_by")
      .on("exemptions")
      .columns(["requested_by", "tenant", "id"])
      .where(sql.ref("status"), "=", sql.lit("requested"))
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex("exemptions_requested_by").execute();
  },
};
