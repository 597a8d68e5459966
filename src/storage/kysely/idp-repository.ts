import type { Kysely, Selectable, Updateable } from "kysely";
import type { IdpStore } from "../../app/ports.js";
import type { IdpObservation, IdpRecord } from "../../app/records.js";
import type { Database, IdpObservationsTable, IdpsTable } from "./database.js";
import { fromRowJsonText, toJsonText } from "./json-text.js";
import { queryTemplate } from "./query-template.js";
import { toTimeText } from "./time-text.js";
import { findUnreadableRowsOf } from "./unreadable-rows.js";

/** The document column holds the record less its key and version, which have columns. */
type IdpDocument = Omit<IdpRecord, "tenant" | "id" | "version" | "createdAt" | "updatedAt">;

// A federated sign-in reads its IdP when it starts and again on the answer, and notes what the
// IdP proved: compiled once each.
const selectIdp = queryTemplate<Selectable<IdpsTable>, [string, string]>(2, (db, tenant, id) =>
  db
    .selectFrom("idps")
    .selectAll()
    .where("tenant", "=", tenant)
    .where("id", "=", id)
    .where("removed", "=", 0),
);
const selectObservation = queryTemplate<Selectable<IdpObservationsTable>, [string, string]>(
  2,
  (db, tenant, idp) =>
    db
      .selectFrom("idp_observations")
      .selectAll()
      .where("tenant", "=", tenant)
      .where("idp", "=", idp),
);
const upsertObservation = queryTemplate<unknown, [string, string, number, string, string]>(
  5,
  (db, tenant, idp, provingMfa, unmappedSeen, updatedAt) =>
    db
      .insertInto("idp_observations")
      .values({
        tenant,
        idp,
        proving_mfa: provingMfa,
        unmapped_seen: unmappedSeen,
        updated_at: updatedAt,
      })
      .onConflict((conflict) =>
        conflict.columns(["tenant", "idp"]).doUpdateSet((eb) => ({
          proving_mfa: eb.ref("excluded.proving_mfa"),
          unmapped_seen: eb.ref("excluded.unmapped_seen"),
          updated_at: eb.ref("excluded.updated_at"),
        })),
      ),
);

export function createIdpRepository(db: Kysely<Database>): IdpStore {
  /** Writes `values` over the row at `record.version - 1`, live (`removed` 0) or a tombstone (1). */
  const replace = async (
    record: IdpRecord,
    values: Updateable<IdpsTable>,
    removed: 0 | 1,
  ): Promise<boolean> => {
    const updated = await db
      .updateTable("idps")
      .set(values)
      .where("tenant", "=", record.tenant)
      .where("id", "=", record.id)
      .where("version", "=", record.version - 1)
      .where("removed", "=", removed)
      .executeTakeFirst();
    return updated.numUpdatedRows === 1n;
  };

  return {
    async get(tenant, id) {
      const [row] = (await selectIdp(db, tenant, id)).rows;
      return row === undefined ? undefined : toIdp(row);
    },

    async list(tenant) {
      const rows = await db
        .selectFrom("idps")
        .selectAll()
        .where("tenant", "=", tenant)
        .where("removed", "=", 0)
        .orderBy("id")
        .execute();
      return rows.map(toIdp);
    },

    async removedVersion(tenant, id) {
      const row = await db
        .selectFrom("idps")
        .select("version")
        .where("tenant", "=", tenant)
        .where("id", "=", id)
        .where("removed", "=", 1)
        .executeTakeFirst();
      return row?.version;
    },

    // Optimistic concurrency: version 1 inserts, and meets the row of an id registered before
    // (live or a tombstone); any other version replaces exactly its live predecessor.
    async put(record) {
      const values = columns(record);
      if (record.version === 1) {
        const inserted = await db
          .insertInto("idps")
          .values({
            tenant: record.tenant,
            id: record.id,
            ...values,
            created_at: toTimeText(record.createdAt, "createdAt"),
            removed: 0,
          })
          .onConflict((conflict) => conflict.columns(["tenant", "id"]).doNothing())
          .returning("id")
          .executeTakeFirst();
        return inserted !== undefined;
      }
      return replace(record, values, 0);
    },

    // The tombstone is the row every writer of the id meets: one conditional statement on it
    // decides between concurrent registrations, updates and removals, on either database.
    async reregister(record) {
      return replace(
        record,
        { ...columns(record), created_at: toTimeText(record.createdAt, "createdAt"), removed: 0 },
        1,
      );
    },

    async remove(tenant, id, version) {
      // Compare-and-set first, so that nothing goes when the registration was replaced meanwhile.
      let removal = db
        .updateTable("idps")
        .set({ document: toJsonText({}), removed: 1 })
        .where("tenant", "=", tenant)
        .where("id", "=", id)
        .where("removed", "=", 0);
      if (version !== undefined) removal = removal.where("version", "=", version);
      // The row stays as a tombstone keeping the version; the settings and the sealed client
      // secret go, as they went when the row was deleted.
      const removed = await removal.executeTakeFirst();
      if (removed.numUpdatedRows !== 1n) return false;
      await db
        .deleteFrom("idp_observations")
        .where("tenant", "=", tenant)
        .where("idp", "=", id)
        .execute();
      return true;
    },

    // Compare-and-set on the version read: any change to the registration makes a new one.
    async resealClientSecret(record, sealedClientSecret) {
      const { document } = columns({ ...record, oidc: { ...record.oidc, sealedClientSecret } });
      const updated = await db
        .updateTable("idps")
        .set({ document })
        .where("tenant", "=", record.tenant)
        .where("id", "=", record.id)
        .where("version", "=", record.version)
        .where("removed", "=", 0)
        .executeTakeFirst();
      return updated.numUpdatedRows === 1n;
    },

    async observation(tenant, idp) {
      const [row] = (await selectObservation(db, tenant, idp)).rows;
      return row === undefined ? undefined : toObservation(row);
    },

    async listUnreadable(filter) {
      const idps = await findUnreadableRowsOf(db, "idps", ["tenant", "id"], toIdp, filter);
      const observations = await findUnreadableRowsOf(
        db,
        "idp_observations",
        ["tenant", "idp"],
        toObservation,
        filter,
      );
      return [...idps, ...observations];
    },

    async observe(observation) {
      await upsertObservation(
        db,
        observation.tenant,
        observation.idp,
        observation.provingMfa ? 1 : 0,
        toJsonText(observation.unmappedSeen),
        toTimeText(observation.updatedAt, "updatedAt"),
      );
    },
  };
}

/** The columns a new version sets, less the key and `created_at`. */
function columns(record: IdpRecord) {
  const {
    tenant: _tenant,
    id: _id,
    version,
    createdAt: _createdAt,
    updatedAt,
    ...document
  } = record;
  return {
    protocol: record.protocol,
    document: toJsonText(document satisfies IdpDocument),
    version,
    updated_at: toTimeText(updatedAt, "updatedAt"),
  };
}

function toObservation(row: Selectable<IdpObservationsTable>): IdpObservation {
  return {
    tenant: row.tenant,
    idp: row.idp,
    provingMfa: row.proving_mfa === 1,
    unmappedSeen: fromRowJsonText(row.unmapped_seen, {
      table: "idp_observations",
      tenant: row.tenant,
      id: row.idp,
    }) as string[],
    updatedAt: row.updated_at,
  };
}

function toIdp(row: Selectable<IdpsTable>): IdpRecord {
  const document = fromRowJsonText(row.document, {
    table: "idps",
    tenant: row.tenant,
    id: row.id,
  }) as IdpDocument;
  return {
    ...document,
    tenant: row.tenant,
    id: row.id,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  } as IdpRecord;
}
