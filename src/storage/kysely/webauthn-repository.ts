import type { Kysely, Selectable } from "kysely";
import type {
  WebAuthnChallengeStore,
  WebAuthnCredentialStore,
  WebAuthnSettingsStore,
} from "../../app/ports.js";
import type {
  WebAuthnChallengeRecord,
  WebAuthnCredentialRecord,
  WebAuthnSettings,
} from "../../app/records.js";
import type { Database, WebAuthnChallengesTable, WebAuthnCredentialsTable } from "./database.js";
import { fromJsonText, toJsonText } from "./json-text.js";
import { toTimeText } from "./time-text.js";

export function createWebAuthnCredentialRepository(db: Kysely<Database>): WebAuthnCredentialStore {
  const select = (tenant: string, principal: string) =>
    db
      .selectFrom("webauthn_credentials")
      .selectAll()
      .where("tenant", "=", tenant)
      .where("principal", "=", principal);
  const one = (tenant: string, principal: string, id: string) =>
    db
      .updateTable("webauthn_credentials")
      .where("tenant", "=", tenant)
      .where("principal", "=", principal)
      .where("id", "=", id);

  return {
    async get(tenant, principal, id) {
      const row = await select(tenant, principal).where("id", "=", id).executeTakeFirst();
      return row === undefined ? undefined : toCredential(row);
    },

    async findByCredentialId(tenant, principal, credentialId) {
      const row = await select(tenant, principal)
        .where("credential_id", "=", credentialId)
        .executeTakeFirst();
      return row === undefined ? undefined : toCredential(row);
    },

    async list(tenant, principal) {
      const rows = await select(tenant, principal).orderBy("created_at").orderBy("id").execute();
      return rows.map(toCredential);
    },

    // The unique (tenant, credential_id) constraint decides between concurrent registrations of
    // one credential: exactly one row goes in.
    async insert(record) {
      const inserted = await db
        .insertInto("webauthn_credentials")
        .values({
          tenant: record.tenant,
          principal: record.principal,
          id: record.id,
          credential_id: record.credentialId,
          name: record.name,
          public_key: record.publicKey,
          algorithm: record.algorithm,
          sign_count: record.signCount,
          transports: toJsonText(record.transports),
          aaguid: record.aaguid,
          backup_eligible: record.backupEligible ? 1 : 0,
          backup_state: record.backupState ? 1 : 0,
          device_type: record.deviceType,
          user_verified: record.userVerified ? 1 : 0,
          failed_attempts: record.failedAttempts,
          locked_at: optionalTime(record.lockedAt, "lockedAt"),
          created_at: toTimeText(record.createdAt, "createdAt"),
          last_used_at: optionalTime(record.lastUsedAt, "lastUsedAt"),
        })
        .onConflict((conflict) => conflict.doNothing())
        .returning("id")
        .executeTakeFirst();
      return inserted !== undefined;
    },

    // One conditional UPDATE: the row lock (PostgreSQL) or the write lock (SQLite) makes the
    // second of two writers from one counter match nothing.
    async acceptAssertion(tenant, principal, id, counter, backupState, at) {
      const updated = await one(tenant, principal, id)
        .set({
          sign_count: counter.next,
          backup_state: backupState ? 1 : 0,
          failed_attempts: 0,
          last_used_at: toTimeText(at, "at"),
        })
        .where("sign_count", "=", counter.expected)
        .where("locked_at", "is", null)
        .executeTakeFirst();
      return updated.numUpdatedRows === 1n;
    },

    async recordFailure(tenant, principal, id, limit, at) {
      const row = await one(tenant, principal, id)
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
      if (row === undefined) return undefined;
      return {
        failedAttempts: row.failed_attempts,
        ...(row.locked_at === null ? {} : { lockedAt: row.locked_at }),
      };
    },

    async remove(tenant, principal, id) {
      const deleted = await db
        .deleteFrom("webauthn_credentials")
        .where("tenant", "=", tenant)
        .where("principal", "=", principal)
        .where("id", "=", id)
        .executeTakeFirst();
      return deleted.numDeletedRows === 1n;
    },

    async unlockAll(tenant, principal) {
      const rows = await db
        .updateTable("webauthn_credentials")
        .set({ failed_attempts: 0, locked_at: null })
        .where("tenant", "=", tenant)
        .where("principal", "=", principal)
        .where((eb) => eb.or([eb("failed_attempts", ">", 0), eb("locked_at", "is not", null)]))
        .returning("id")
        .execute();
      return rows.map((row) => row.id).sort();
    },
  };
}

export function createWebAuthnChallengeRepository(db: Kysely<Database>): WebAuthnChallengeStore {
  return {
    async insert(record) {
      await db
        .insertInto("webauthn_challenges")
        .values({
          tenant: record.tenant,
          id: record.id,
          purpose: record.purpose,
          principal: record.principal,
          challenge: record.challenge,
          created_at: toTimeText(record.createdAt, "createdAt"),
          expires_at: toTimeText(record.expiresAt, "expiresAt"),
        })
        .execute();
    },

    async get(tenant, id) {
      const row = await db
        .selectFrom("webauthn_challenges")
        .selectAll()
        .where("tenant", "=", tenant)
        .where("id", "=", id)
        .executeTakeFirst();
      return row === undefined ? undefined : toChallenge(row);
    },

    // DELETE … RETURNING: the row goes to whichever statement deletes it, never to two.
    async consume(tenant, id) {
      const row = await db
        .deleteFrom("webauthn_challenges")
        .where("tenant", "=", tenant)
        .where("id", "=", id)
        .returningAll()
        .executeTakeFirst();
      return row === undefined ? undefined : toChallenge(row);
    },

    async purge(before) {
      const deleted = await db
        .deleteFrom("webauthn_challenges")
        .where("expires_at", "<", toTimeText(before, "before"))
        .executeTakeFirst();
      return Number(deleted.numDeletedRows);
    },
  };
}

export function createWebAuthnSettingsRepository(db: Kysely<Database>): WebAuthnSettingsStore {
  return {
    async get(tenant) {
      const row = await db
        .selectFrom("webauthn_settings")
        .selectAll()
        .where("tenant", "=", tenant)
        .executeTakeFirst();
      if (row === undefined) return undefined;
      return {
        ...(fromJsonText(row.document) as WebAuthnSettings),
        tenant: row.tenant,
        updatedAt: row.updated_at,
        updatedBy: row.updated_by,
      };
    },

    async put(record) {
      const { tenant, updatedAt, updatedBy, ...settings } = record;
      const row = {
        tenant,
        document: toJsonText(settingsDocument(settings)),
        updated_at: toTimeText(updatedAt, "updatedAt"),
        updated_by: updatedBy,
      };
      await db
        .insertInto("webauthn_settings")
        .values(row)
        .onConflict((conflict) =>
          conflict.column("tenant").doUpdateSet({
            document: row.document,
            updated_at: row.updated_at,
            updated_by: row.updated_by,
          }),
        )
        .execute();
    },
  };
}

/** The settings in a fixed key order, so that both stores keep the same bytes. */
function settingsDocument(settings: WebAuthnSettings): WebAuthnSettings {
  return {
    rpId: settings.rpId,
    rpName: settings.rpName,
    origins: [...settings.origins],
    userVerification: settings.userVerification,
    attestation: settings.attestation,
    aaguids: [...settings.aaguids],
    signCountPolicy: settings.signCountPolicy,
  };
}

const optionalTime = (value: string | undefined, field: string): string | null =>
  value === undefined ? null : toTimeText(value, field);

function toCredential(row: Selectable<WebAuthnCredentialsTable>): WebAuthnCredentialRecord {
  return {
    tenant: row.tenant,
    principal: row.principal,
    id: row.id,
    credentialId: row.credential_id,
    name: row.name,
    publicKey: row.public_key,
    algorithm: row.algorithm,
    signCount: Number(row.sign_count),
    transports: fromJsonText(row.transports) as string[],
    aaguid: row.aaguid,
    backupEligible: row.backup_eligible === 1,
    backupState: row.backup_state === 1,
    deviceType: row.device_type as WebAuthnCredentialRecord["deviceType"],
    userVerified: row.user_verified === 1,
    failedAttempts: row.failed_attempts,
    ...(row.locked_at === null ? {} : { lockedAt: row.locked_at }),
    createdAt: row.created_at,
    ...(row.last_used_at === null ? {} : { lastUsedAt: row.last_used_at }),
  };
}

function toChallenge(row: Selectable<WebAuthnChallengesTable>): WebAuthnChallengeRecord {
  return {
    tenant: row.tenant,
    id: row.id,
    purpose: row.purpose as WebAuthnChallengeRecord["purpose"],
    principal: row.principal,
    challenge: row.challenge,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}
