import type { Kysely, Selectable } from "kysely";
import type { IdpStore } from "../../app/ports.js";
import type { IdpObservation, IdpRecord } from "../../app/records.js";
import type { Database, IdpsTable } from "./database.js";
import { fromJsonText, toJsonText } from "./json-text.js";
import { toTimeText } from "./time-text.js";

/** The document column holds the record less its key and version, which have columns. */
type IdpDocument = Omit<IdpRecord, "tenant" | "id" | "version" | "createdAt" | "updatedAt">;

export function createIdpRepository(db: Kysely<Database>): IdpStore {
  return {
    async get(tenant, id) {
      const row = await db
        .selectFrom("idps")
        .selectAll()
        .where("tenant", "=", tenant)
        .where("id", "=", id)
        .executeTakeFirst();
      return row === undefined ? undefined : toIdp(row);
    },

    async list(tenant) {
      const rows = await db
        .selectFrom("idps")
        .selectAll()
        .where("tenant", "=", tenant)
        .orderBy("id")
        .execute();
      return rows.map(toIdp);
    },

    // Optimistic concurrency: version 1 inserts, any other replaces exactly its predecessor.
    async put(record) {
      const { tenant, id, version, createdAt, updatedAt, ...document } = record;
      const values = {
        protocol: record.protocol,
        document: toJsonText(document satisfies IdpDocument),
        version,
        updated_at: toTimeText(updatedAt, "updatedAt"),
      };
      if (version === 1) {
        const inserted = await db
          .insertInto("idps")
          .values({ tenant, id, ...values, created_at: toTimeText(createdAt, "createdAt") })
          .onConflict((conflict) => conflict.columns(["tenant", "id"]).doNothing())
          .returning("id")
          .executeTakeFirst();
        return inserted !== undefined;
      }
      const updated = await db
        .updateTable("idps")
        .set(values)
        .where("tenant", "=", tenant)
        .where("id", "=", id)
        .where("version", "=", version - 1)
        .executeTakeFirst();
      return updated.numUpdatedRows === 1n;
    },

    async remove(tenant, id) {
      await db
        .deleteFrom("idp_observations")
        .where("tenant", "=", tenant)
        .where("idp", "=", id)
        .execute();
      const deleted = await db
        .deleteFrom("idps")
        .where("tenant", "=", tenant)
        .where("id", "=", id)
        .executeTakeFirst();
      return deleted.numDeletedRows === 1n;
    },

    async observation(tenant, idp) {
      const row = await db
        .selectFrom("idp_observations")
        .selectAll()
        .where("tenant", "=", tenant)
        .where("idp", "=", idp)
        .executeTakeFirst();
      if (row === undefined) return undefined;
      return {
        tenant: row.tenant,
        idp: row.idp,
        provingMfa: row.proving_mfa === 1,
        unmappedSeen: fromJsonText(row.unmapped_seen) as string[],
        updatedAt: row.updated_at,
      } satisfies IdpObservation;
    },

    async observe(observation) {
      const row = {
        proving_mfa: observation.provingMfa ? 1 : 0,
        unmapped_seen: toJsonText(observation.unmappedSeen),
        updated_at: toTimeText(observation.updatedAt, "updatedAt"),
      };
      await db
        .insertInto("idp_observations")
        .values({ tenant: observation.tenant, idp: observation.idp, ...row })
        .onConflict((conflict) => conflict.columns(["tenant", "idp"]).doUpdateSet(row))
        .execute();
    },
  };
}

function toIdp(row: Selectable<IdpsTable>): IdpRecord {
  const document = fromJsonText(row.document) as IdpDocument;
  return {
    ...document,
    tenant: row.tenant,
    id: row.id,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  } as IdpRecord;
}
