import { sql, type Kysely, type Migration } from "kysely";

/**
 * Federation: the tenants' IdPs, what each was last seen to prove (drift), the sign-ins sent to
 * an IdP and awaiting its answer, and the one-time proofs (assertion ids, nonces) already used.
 * Tenants gain the return URLs that sign-in flows may redirect to.
 */
export const federationMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable("tenants")
      .addColumn("return_urls", "text", (column) => column.notNull().defaultTo(sql`'[]'`))
      .execute();

    await db.schema
      .createTable("idps")
      .addColumn("tenant", "text", (column) => column.notNull().references("tenants.id"))
      .addColumn("id", "text", (column) => column.notNull())
      .addColumn("protocol", "text", (column) => column.notNull())
      .addColumn("document", "text", (column) => column.notNull())
      .addColumn("version", "integer", (column) => column.notNull())
      .addColumn("created_at", "text", (column) => column.notNull())
      .addColumn("updated_at", "text", (column) => column.notNull())
      .addPrimaryKeyConstraint("idps_pk", ["tenant", "id"])
      .execute();

    await db.schema
      .createTable("idp_observations")
      .addColumn("tenant", "text", (column) => column.notNull())
      .addColumn("idp", "text", (column) => column.notNull())
      .addColumn("proving_mfa", "integer", (column) => column.notNull())
      .addColumn("unmapped_seen", "text", (column) => column.notNull())
      .addColumn("updated_at", "text", (column) => column.notNull())
      .addPrimaryKeyConstraint("idp_observations_pk", ["tenant", "idp"])
      .execute();

    await db.schema
      .createTable("federation_requests")
      .addColumn("id", "text", (column) => column.primaryKey())
      .addColumn("tenant", "text", (column) => column.notNull())
      .addColumn("idp", "text", (column) => column.notNull())
      .addColumn("document", "text", (column) => column.notNull())
      .addColumn("expires_at", "text", (column) => column.notNull())
      .addColumn("consumed_at", "text")
      .execute();
    await db.schema
      .createIndex("federation_requests_expires_at")
      .on("federation_requests")
      .column("expires_at")
      .execute();

    await db.schema
      .createTable("one_time_proofs")
      .addColumn("scope", "text", (column) => column.notNull())
      .addColumn("key", "text", (column) => column.notNull())
      .addColumn("expires_at", "text", (column) => column.notNull())
      .addPrimaryKeyConstraint("one_time_proofs_pk", ["scope", "key"])
      .execute();
    await db.schema
      .createIndex("one_time_proofs_expires_at")
      .on("one_time_proofs")
      .column("expires_at")
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ["one_time_proofs", "federation_requests", "idp_observations", "idps"]) {
      await db.schema.dropTable(table).execute();
    }
    await db.schema.alterTable("tenants").dropColumn("return_urls").execute();
  },
};
