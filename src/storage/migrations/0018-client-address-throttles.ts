import { sql, SqliteAdapter, type Kysely, type Migration, type RawBuilder } from "kysely";

/**
 * The platform-wide scope of client-address throttle rows (an address reported by a key of every
 * tenant). No tenant id can take it (a tenant id is lowercase letters, digits and hyphens).
 * Repeated here as written, not imported, so that the migration keeps meaning what it did.
 */
const ADDRESS_SCOPE = "*";

const LAST_ACTIVITY = sql`(CASE WHEN coalesce(last_failure_at, '') > coalesce(last_success_at, '') THEN coalesce(last_failure_at, '') ELSE coalesce(last_success_at, '') END)`;

/** The table of migration 0006, its tenant referencing tenants or not, and 0010's index. */
async function createThrottles(db: Kysely<unknown>, name: string, referencesTenants: boolean) {
  await db.schema
    .createTable(name)
    .addColumn("tenant", "text", (column) =>
      referencesTenants ? column.notNull().references("tenants.id") : column.notNull(),
    )
    .addColumn("throttle_key", "text", (column) => column.notNull())
    .addColumn("consecutive_failures", "integer", (column) => column.notNull().defaultTo(0))
    .addColumn("next_attempt_at", "text")
    .addColumn("locked_at", "text")
    .addColumn("lock_expires_at", "text")
    .addColumn("last_failure_at", "text")
    .addColumn("last_success_at", "text")
    .addPrimaryKeyConstraint(`${name}_pk`, ["tenant", "throttle_key"])
    .execute();
}

/**
 * Rebuilds `verification_throttles` with or without the reference to tenants, keeping its rows
 * (`rows` picks them), its primary key's name and its last-activity index. SQLite cannot drop a
 * foreign key in place; PostgreSQL could, but one way for both keeps them alike.
 */
async function rebuild(db: Kysely<unknown>, referencesTenants: boolean, rows: RawBuilder<unknown>) {
  await db.schema
    .alterTable("verification_throttles")
    .renameTo("verification_throttles_old")
    .execute();
  await db.schema.dropIndex("verification_throttles_last_activity").execute();
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  // PostgreSQL names the primary key's index after the constraint: free its name first.
  if (!sqlite) {
    await sql`ALTER TABLE verification_throttles_old RENAME CONSTRAINT verification_throttles_pk TO verification_throttles_old_pk`.execute(
      db,
    );
  }
  await createThrottles(db, "verification_throttles", referencesTenants);
  await sql`INSERT INTO verification_throttles (tenant, throttle_key, consecutive_failures,
      next_attempt_at, locked_at, lock_expires_at, last_failure_at, last_success_at) ${rows}`.execute(
    db,
  );
  await db.schema.dropTable("verification_throttles_old").execute();
  await db.schema
    .createIndex("verification_throttles_last_activity")
    .on("verification_throttles")
    .expression(LAST_ACTIVITY)
    .execute();
}

/**
 * Client-address throttle rows may belong to the platform-wide scope {@link ADDRESS_SCOPE}, which
 * is no tenant (an address reported by a key of every tenant counts there), so the table's tenant
 * no longer references tenants (every use case checks its tenant before it touches a throttle
 * row). Every row is copied as it is: a client address's row of a tenant is still that tenant's
 * count (a key of some tenants counts the addresses it reports in the attempt's tenant), and
 * adding up an address's rows of several tenants would count failures long forgotten (their
 * latest time kept) as fresh ones. The platform scope starts empty. Undone, its rows are dropped
 * (they are no tenant's; a count lost starts again from zero, as after a quiet hour) and the
 * reference comes back.
 *
 * The rebuild is all or nothing: migrations run in a transaction on both stores (SQLite's DDL is
 * transactional, and the store's dialect tells Kysely's migrator so), so a migration that dies
 * after the rename leaves the table as it was.
 */
export const clientAddressThrottlesMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await rebuild(
      db,
      false,
      sql`SELECT tenant, throttle_key, consecutive_failures, next_attempt_at, locked_at,
          lock_expires_at, last_failure_at, last_success_at
        FROM verification_throttles_old`,
    );
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await rebuild(
      db,
      true,
      sql`SELECT tenant, throttle_key, consecutive_failures, next_attempt_at, locked_at,
          lock_expires_at, last_failure_at, last_success_at
        FROM verification_throttles_old WHERE tenant <> ${sql.lit(ADDRESS_SCOPE)}`,
    );
  },
};
