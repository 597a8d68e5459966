import { sql, type Kysely } from "kysely";
import { UnreadableRecord, type SigningKeyStore } from "../../app/ports.js";
import type { SigningKeyRecord } from "../../app/records.js";
import type { Database, SigningKeysTable } from "./database.js";
import { fromCheckedJsonText, toJsonText } from "./json-text.js";
import { toTimeText } from "./time-text.js";
import { findUnreadableRows } from "./unreadable-rows.js";

/**
 * What `sealed_private_jwk` (NOT NULL) holds once a key is withdrawn: no sealed value is empty
 * (each reads `v1.<key id>.…`), and counting sealed values by key leaves it out.
 */
export const WITHDRAWN_PRIVATE_JWK = "";

export function createSigningKeyRepository(db: Kysely<Database>): SigningKeyStore {
  return {
    async published(at) {
      const rows = await db
        .selectFrom("signing_keys")
        .selectAll()
        .where("removed_at", ">", toTimeText(at, "at"))
        .orderBy("activates_at")
        .orderBy("kid")
        .execute();
      return rows.map(toRecord);
    },

    // ON CONFLICT DO NOTHING: on PostgreSQL a failed insert would abort the whole transaction.
    async insert(record) {
      const inserted = await db
        .insertInto("signing_keys")
        .values({
          kid: record.kid,
          alg: record.alg,
          public_jwk: toJsonText(record.publicJwk),
          sealed_private_jwk: record.sealedPrivateJwk ?? WITHDRAWN_PRIVATE_JWK,
          created_at: toTimeText(record.createdAt, "createdAt"),
          activates_at: toTimeText(record.activatesAt, "activatesAt"),
          successor_of: record.successorOf ?? null,
          retires_at: toTimeText(record.retiresAt, "retiresAt"),
          removed_at: toTimeText(record.removedAt, "removedAt"),
        })
        .onConflict((conflict) => conflict.doNothing())
        .returning("kid")
        .executeTakeFirst();
      return inserted !== undefined;
    },

    // Each end moves earlier only, in the row as it stands when written: a rotation reads the
    // keys unheld, and one that read them before a compromise committed would otherwise put the
    // withdrawn key back in the JWK Set.
    async retire(kid, retiresAt, removedAt) {
      const retires = toTimeText(retiresAt, "retiresAt");
      const removed = toTimeText(removedAt, "removedAt");
      const updated = await db
        .updateTable("signing_keys")
        .set({
          retires_at: sql<string>`case when retires_at < ${retires} then retires_at else ${retires} end`,
          removed_at: sql<string>`case when removed_at < ${removed} then removed_at else ${removed} end`,
        })
        .where("kid", "=", kid)
        .returning(["retires_at", "removed_at"])
        .executeTakeFirst();
      return updated === undefined
        ? undefined
        : { retiresAt: updated.retires_at, removedAt: updated.removed_at };
    },

    async list() {
      const rows = await db.selectFrom("signing_keys").selectAll().orderBy("kid").execute();
      return rows.map(toRecord);
    },

    async withdraw(kid, from, at) {
      const now = toTimeText(at, "at");
      const updated = await db
        .updateTable("signing_keys")
        .set({
          sealed_private_jwk: WITHDRAWN_PRIVATE_JWK,
          retires_at: sql<string>`case when retires_at < ${now} then retires_at else ${now} end`,
          removed_at: sql<string>`case when removed_at < ${now} then removed_at else ${now} end`,
          successor_of: null,
        })
        .where("kid", "=", kid)
        .where("sealed_private_jwk", "=", from)
        .where("sealed_private_jwk", "<>", WITHDRAWN_PRIVATE_JWK)
        .executeTakeFirst();
      return updated.numUpdatedRows === 1n;
    },

    async listUnreadable() {
      const rows = await db.selectFrom("signing_keys").selectAll().orderBy("kid").execute();
      return findUnreadableRows(rows, toRecord);
    },

    // Compare-and-set on the sealed value: a key sealed again meanwhile is left as it is.
    async reseal(kid, from, to) {
      const updated = await db
        .updateTable("signing_keys")
        .set({ sealed_private_jwk: to })
        .where("kid", "=", kid)
        .where("sealed_private_jwk", "=", from)
        .executeTakeFirst();
      return updated.numUpdatedRows === 1n;
    },
  };
}

function toRecord(row: SigningKeysTable): SigningKeyRecord {
  return {
    kid: row.kid,
    alg: row.alg as SigningKeyRecord["alg"],
    publicJwk: fromCheckedJsonText(
      row.public_jwk,
      () => new UnreadableRecord({ kind: "row", table: "signing_keys", id: row.kid }),
    ) as SigningKeyRecord["publicJwk"],
    ...(row.sealed_private_jwk === WITHDRAWN_PRIVATE_JWK
      ? {}
      : { sealedPrivateJwk: row.sealed_private_jwk }),
    createdAt: row.created_at,
    activatesAt: row.activates_at,
    ...(row.successor_of === null ? {} : { successorOf: row.successor_of }),
    retiresAt: row.retires_at,
    removedAt: row.removed_at,
  };
}
