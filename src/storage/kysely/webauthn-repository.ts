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
  WebAuthnSettingsRecord,
} from "../../app/records.js";
import type {
  Database,
  WebAuthnChallengesTable,
  WebAuthnCredentialsTable,
  WebAuthnSettingsTable,
} from "./database.js";
import { fromRowJsonText, toJsonText } from "./json-text.js";
import { queryTemplate } from "./query-template.js";
import { countFailure } from "./failure-count.js";
import { toTimeText } from "./time-text.js";
import { findUnreadableRowsOf } from "./unreadable-rows.js";

// A WebAuthn sign-in reads its ceremony and credential, consumes the ceremony, reads the
// credential again and sets its counter; beginning one reads the settings and stores a
// challenge: each compiled once (query-template.ts).
const selectCredential = queryTemplate<
  Selectable<WebAuthnCredentialsTable>,
  [string, string, string]
>(3, (db, tenant, principal, id) =>
  db
    .selectFrom("webauthn_credentials")
    .selectAll()
    .where("tenant", "=", tenant)
    .where("principal", "=", principal)
    .where("id", "=", id),
);
const selectCredentialByCredentialId = queryTemplate<
  Selectable<WebAuthnCredentialsTable>,
  [string, string, string]
>(3, (db, tenant, principal, credentialId) =>
  db
    .selectFrom("webauthn_credentials")
    .selectAll()
    .where("tenant", "=", tenant)
    .where("principal", "=", principal)
    .where("credential_id", "=", credentialId),
);
// One conditional UPDATE: the row lock (PostgreSQL) or the write lock (SQLite) makes the
// second of two writers from one counter match nothing.
const acceptAssertion = queryTemplate<
  unknown,
  [number, number, string, string | null, string, string, string, number]
>(8, (db, next, backupState, at, cloneSuspectedAt, tenant, principal, id, expected) =>
  db
    .updateTable("webauthn_credentials")
    .set({
      sign_count: next,
      backup_state: backupState,
      failed_attempts: 0,
      last_used_at: at,
      clone_suspected_at: cloneSuspectedAt,
    })
    .where("tenant", "=", tenant)
    .where("principal", "=", principal)
    .where("id", "=", id)
    .where("sign_count", "=", expected)
    .where("locked_at", "is", null),
);
const insertChallenge = queryTemplate<
  unknown,
  [string, string, string, string, string, string, string]
>(7, (db, tenant, id, purpose, principal, challenge, createdAt, expiresAt) =>
  db.insertInto("webauthn_challenges").values({
    tenant,
    id,
    purpose,
    principal,
    challenge,
    created_at: createdAt,
    expires_at: expiresAt,
  }),
);
const selectChallenge = queryTemplate<Selectable<WebAuthnChallengesTable>, [string, string]>(
  2,
  (db, tenant, id) =>
    db
      .selectFrom("webauthn_challenges")
      .selectAll()
      .where("tenant", "=", tenant)
      .where("id", "=", id),
);
// DELETE … RETURNING: the row goes to whichever statement deletes it, never to two.
const consumeChallenge = queryTemplate<Selectable<WebAuthnChallengesTable>, [string, string]>(
  2,
  (db, tenant, id) =>
    db
      .deleteFrom("webauthn_challenges")
      .where("tenant", "=", tenant)
      .where("id", "=", id)
      .returningAll(),
);
const selectSettings = queryTemplate<Selectable<WebAuthnSettingsTable>, [string]>(1, (db, tenant) =>
  db.selectFrom("webauthn_settings").selectAll().where("tenant", "=", tenant),
);

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
      const [row] = (await selectCredential(db, tenant, principal, id)).rows;
      return row === undefined ? undefined : toCredential(row);
    },

    listUnreadable: (filter) =>
      findUnreadableRowsOf(
        db,
        "webauthn_credentials",
        ["tenant", "principal", "id"],
        toCredential,
        filter,
      ),

    async findByCredentialId(tenant, principal, credentialId) {
      const [row] = (await selectCredentialByCredentialId(db, tenant, principal, credentialId))
        .rows;
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
          // Kept for readers of the column before 0017: attested means a root vouched.
          attested: record.attestationRoot === undefined ? 0 : 1,
          attestation_root: record.attestationRoot ?? null,
          clone_suspected_at: optionalTime(record.cloneSuspectedAt, "cloneSuspectedAt"),
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

    async acceptAssertion(tenant, principal, id, counter, backupState, at, cloneSignal = false) {
      const time = toTimeText(at, "at");
      const updated = await acceptAssertion(
        db,
        counter.next,
        backupState ? 1 : 0,
        time,
        cloneSignal ? time : null,
        tenant,
        principal,
        id,
        counter.expected,
      );
      return updated.numAffectedRows === 1n;
    },

    async recordFailure(tenant, principal, id, limit, at) {
      return countFailure(one(tenant, principal, id), limit, at);
    },

    async recordCloneSignal(tenant, principal, id, at) {
      const updated = await one(tenant, principal, id)
        .set({ clone_suspected_at: toTimeText(at, "at") })
        .executeTakeFirst();
      return updated.numUpdatedRows === 1n;
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
      await insertChallenge(
        db,
        record.tenant,
        record.id,
        record.purpose,
        record.principal,
        record.challenge,
        toTimeText(record.createdAt, "createdAt"),
        toTimeText(record.expiresAt, "expiresAt"),
      );
    },

    async get(tenant, id) {
      const [row] = (await selectChallenge(db, tenant, id)).rows;
      return row === undefined ? undefined : toChallenge(row);
    },

    async consume(tenant, id) {
      const [row] = (await consumeChallenge(db, tenant, id)).rows;
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
      const [row] = (await selectSettings(db, tenant)).rows;
      return row === undefined ? undefined : toSettings(row);
    },

    listUnreadable: (filter) =>
      findUnreadableRowsOf(db, "webauthn_settings", ["tenant"], toSettings, filter),

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

function toSettings(row: Selectable<WebAuthnSettingsTable>): WebAuthnSettingsRecord {
  return {
    ...(fromRowJsonText(row.document, {
      table: "webauthn_settings",
      id: row.tenant,
    }) as WebAuthnSettings),
    tenant: row.tenant,
    updatedAt: row.updated_at,
    updatedBy: row.updated_by,
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
    transports: fromRowJsonText(row.transports, {
      table: "webauthn_credentials",
      tenant: row.tenant,
      id: row.id,
    }) as string[],
    aaguid: row.aaguid,
    backupEligible: row.backup_eligible === 1,
    backupState: row.backup_state === 1,
    deviceType: row.device_type as WebAuthnCredentialRecord["deviceType"],
    userVerified: row.user_verified === 1,
    ...(row.attestation_root === null ? {} : { attestationRoot: row.attestation_root }),
    ...(row.clone_suspected_at === null ? {} : { cloneSuspectedAt: row.clone_suspected_at }),
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
