import { sql, SqliteAdapter, type Kysely, type Migration, type RawBuilder } from "kysely";

/**
 * The scope under which client-address throttle rows are kept: one for the whole platform, so that
 * an address's failures count across tenants. No tenant id can take it (a tenant id is lowercase
 * letters, digits and hyphens). Repeated here as written, not imported, so that the migration
 * keeps meaning what it did.
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
 * A client address's throttle row is the platform's, no longer a tenant's: its failures count
 * across tenants, so that spraying guesses over many tenants buys no more than over many
 * principals of one. The rows of an address move to the scope {@link ADDRESS_SCOPE}, which is no
 * tenant, so the table's tenant no longer references tenants (every use case checks its tenant
 * before it touches a throttle row). An address's rows in several tenants merge into one: their
 * failures added up (what the address did, all of it), the latest of each time kept. Principal
 * rows stay as they are. Undone, address rows are dropped (they are no tenant's; a count lost
 * starts again from zero, as after a quiet hour) and the reference comes back.
 */
export const clientAddressThrottlesMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await rebuild(
      db,
      false,
      sql`SELECT tenant, throttle_key, consecutive_failures, next_attempt_at, locked_at,
          lock_expires_at, last_failure_at, last_success_at
        FROM verification_throttles_old WHERE throttle_key NOT LIKE 'client:%'
        UNION ALL
        SELECT ${sql.lit(ADDRESS_SCOPE)}, throttle_key, CAST(sum(consecutive_failures) AS integer),
          max(next_attempt_at), max(locked_at), max(lock_expires_at), max(last_failure_at),
          max(last_success_at)
        FROM verification_throttles_old WHERE throttle_key LIKE 'client:%' GROUP BY throttle_key`,
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
