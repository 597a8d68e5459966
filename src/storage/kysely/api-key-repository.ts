import type { Kysely, Selectable } from "kysely";
import { UnreadableRecord, type ApiKeyStore } from "../../app/ports.js";
import type { ApiKeyRecord } from "../../app/records.js";
import type { ApiKeysTable, Database } from "./database.js";
import { fromCheckedJsonText, toJsonText } from "./json-text.js";
import { toTimeText } from "./time-text.js";
import { findUnreadableRows } from "./unreadable-rows.js";

export function createApiKeyRepository(db: Kysely<Database>): ApiKeyStore {
  return {
    async getBySecretHash(secretHash) {
      const row = await db
        .selectFrom("api_keys")
        .selectAll()
        .where("secret_hash", "=", secretHash)
        .executeTakeFirst();
      return row === undefined ? undefined : toApiKey(row);
    },

    async get(id) {
      const row = await db
        .selectFrom("api_keys")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirst();
      return row === undefined ? undefined : toApiKey(row);
    },

    async list() {
      const rows = await db
        .selectFrom("api_keys")
        .selectAll()
        .orderBy("created_at")
        .orderBy("id")
        .execute();
      return rows.map(toApiKey);
    },

    async listUnreadable() {
      const rows = await db.selectFrom("api_keys").selectAll().orderBy("id").execute();
      return findUnreadableRows(rows, toApiKey);
    },

    async insert(record) {
      await db
        .insertInto("api_keys")
        .values({
          id: record.id,
          name: record.name,
          secret_hash: record.secretHash,
          roles: toJsonText(record.roles),
          tenants: toJsonText(record.tenants),
          created_at: toTimeText(record.createdAt, "createdAt"),
          created_by: record.createdBy,
          expires_at:
            record.expiresAt === undefined ? null : toTimeText(record.expiresAt, "expiresAt"),
          revoked_at:
            record.revokedAt === undefined ? null : toTimeText(record.revokedAt, "revokedAt"),
          holder: record.holder ?? null,
          audiences: record.audiences === undefined ? null : toJsonText(record.audiences),
        })
        .execute();
    },

    // Only the first revocation counts: its time is the one an auditor needs.
    async revoke(id, at) {
      const result = await db
        .updateTable("api_keys")
        .set({ revoked_at: toTimeText(at, "at") })
        .where("id", "=", id)
        .where("revoked_at", "is", null)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
  };
}

function toApiKey(row: Selectable<ApiKeysTable>): ApiKeyRecord {
  const readJson = (text: string) =>
    fromCheckedJsonText(
      text,
      () => new UnreadableRecord({ kind: "row", table: "api_keys", id: row.id }),
    );
  return {
    id: row.id,
    name: row.name,
    secretHash: row.secret_hash,
    roles: readJson(row.roles) as ApiKeyRecord["roles"],
    tenants: readJson(row.tenants) as ApiKeyRecord["tenants"],
    createdAt: row.created_at,
    createdBy: row.created_by,
    ...(row.expires_at === null ? {} : { expiresAt: row.expires_at }),
    ...(row.revoked_at === null ? {} : { revokedAt: row.revoked_at }),
    ...(row.holder === null ? {} : { holder: row.holder }),
    ...(row.audiences === null ? {} : { audiences: readJson(row.audiences) as readonly string[] }),
  };
}
