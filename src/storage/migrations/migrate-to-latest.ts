import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from "kysely";
import { errorDetail } from "../kysely/emit-store-warning.js";
import { initialMigration } from "./0001-initial.js";
import { federationMigration } from "./0002-federation.js";
import { authenticatorsMigration } from "./0003-authenticators.js";
import { webauthnMigration } from "./0004-webauthn.js";
import { recoveryCodesMigration } from "./0005-recovery-codes.js";
import { verificationThrottlesMigration } from "./0006-verification-throttles.js";
import { signingKeysMigration } from "./0007-signing-keys.js";
import { flowsMigration } from "./0008-flows.js";
import { auditIndexesMigration } from "./0009-audit-indexes.js";
import { verificationThrottleActivityMigration } from "./0010-verification-throttle-activity.js";
import { receiptIndexesMigration } from "./0011-receipt-indexes.js";
import { apiKeyHoldersMigration } from "./0012-api-key-holders.js";
import { flowsByPrincipalMigration } from "./0013-flows-by-principal.js";
import { idpTombstonesMigration } from "./0014-idp-tombstones.js";
import { webauthnAttestedMigration } from "./0015-webauthn-attested.js";
import { principalSharedLoginMigration } from "./0016-principal-shared-login.js";
import { webauthnAttestationRootMigration } from "./0017-webauthn-attestation-root.js";
import { clientAddressThrottlesMigration } from "./0018-client-address-throttles.js";
import { principalIdpMigration } from "./0019-principal-idp.js";
import { federationAnswersMigration } from "./0020-federation-answers.js";
import { principalProofsWithdrawnMigration } from "./0021-principal-proofs-withdrawn.js";
import { pendingAuthenticatorsMigration } from "./0022-pending-authenticators.js";
import { principalProofsWithdrawnSeqMigration } from "./0023-principal-proofs-withdrawn-seq.js";
import { exemptionsRequestedByMigration } from "./0024-exemptions-requested-by.js";
import { principalIdpIssuerMigration } from "./0025-principal-idp-issuer.js";
import { webauthnCloneSuspectedMigration } from "./0026-webauthn-clone-suspected.js";

/**
 * Every migration, in order. Listed in code rather than read from a folder so that the built
 * package needs no file-system layout and bundles cannot drop one.
 */
export const migrations: Readonly<Record<string, Migration>> = {
  "0001-initial": initialMigration,
  "0002-federation": federationMigration,
  "0003-authenticators": authenticatorsMigration,
  "0004-webauthn": webauthnMigration,
  "0005-recovery-codes": recoveryCodesMigration,
  "0006-verification-throttles": verificationThrottlesMigration,
  "0007-signing-keys": signingKeysMigration,
  "0008-flows": flowsMigration,
  "0009-audit-indexes": auditIndexesMigration,
  "0010-verification-throttle-activity": verificationThrottleActivityMigration,
  "0011-receipt-indexes": receiptIndexesMigration,
  "0012-api-key-holders": apiKeyHoldersMigration,
  "0013-flows-by-principal": flowsByPrincipalMigration,
  "0014-idp-tombstones": idpTombstonesMigration,
  "0015-webauthn-attested": webauthnAttestedMigration,
  "0016-principal-shared-login": principalSharedLoginMigration,
  "0017-webauthn-attestation-root": webauthnAttestationRootMigration,
  "0018-client-address-throttles": clientAddressThrottlesMigration,
  "0019-principal-idp": principalIdpMigration,
  "0020-federation-answers": federationAnswersMigration,
  "0021-principal-proofs-withdrawn": principalProofsWithdrawnMigration,
  "0022-pending-authenticators": pendingAuthenticatorsMigration,
  "0023-principal-proofs-withdrawn-seq": principalProofsWithdrawnSeqMigration,
  "0024-exemptions-requested-by": exemptionsRequestedByMigration,
  "0025-principal-idp-issuer": principalIdpIssuerMigration,
  "0026-webauthn-clone-suspected": webauthnCloneSuspectedMigration,
};

const provider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};

/**
 * Applies the pending migrations and returns their names, oldest first. Kysely's Migrator takes a
 * lock (an advisory lock on PostgreSQL) so that instances starting together migrate once.
 */
export async function migrateToLatest<DB>(db: Kysely<DB>): Promise<readonly string[]> {
  const { error, results = [] } = await new Migrator({ db, provider }).migrateToLatest();
  if (error !== undefined) {
    const failed = results.find((result) => result.status === "Error");
    throw new Error(
      `Database migration ${failed === undefined ? "" : `${failed.migrationName} `}failed: ${errorDetail(error)}`,
      { cause: error },
    );
  }
  return results.map((result) => result.migrationName);
}

/** What a store's migrations table says against this version's migrations. */
export interface MigrationState {
  /** Migrations of this version not applied yet, oldest first. */
  readonly pending: readonly string[];
  /** Applied migrations this version does not know: the store is from a newer version. */
  readonly unknown: readonly string[];
  /** How many migrations were applied, known or not: none for a database that holds no store. */
  readonly applied: number;
}

/**
 * The store's migration state, found by reading only: the migrations table is read if it
 * exists, and nothing is created or locked (`tenant-mfa audit verify`, which opens its store
 * read-only).
 */
export async function migrationState<DB>(db: Kysely<DB>): Promise<MigrationState> {
  const known = await new Migrator({ db, provider }).getMigrations();
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  const applied = tables.some((t) => t.name === MIGRATION_TABLE)
    ? (await sql<{ name: string }>`select name from ${sql.table(MIGRATION_TABLE)}`.execute(db)).rows
    : [];
  return {
    pending: known.filter((m) => m.executedAt === undefined).map((m) => m.name),
    unknown: applied.map((row) => row.name).filter((name) => !(name in migrations)),
    applied: applied.length,
  };
}

/** Kysely's default name for the table of applied migrations. */
const MIGRATION_TABLE = "kysely_migration";
