import type { Kysely, Selectable } from "kysely";
import { UnreadableRecord, type TenantStore } from "../../app/ports.js";
import type { TenantRecord } from "../../app/records.js";
import type { Database, TenantsTable } from "./database.js";
import { fromCheckedJsonText, toJsonText } from "./json-text.js";
import { checkLimit, decodeCursor, encodeCursor, literalLimit, toPage } from "./page.js";
import { queryTemplate } from "./query-template.js";
import { toTimeText } from "./time-text.js";

// Most use cases begin by reading their tenant: compiled once (query-template.ts).
const selectTenant = queryTemplate<Selectable<TenantsTable>, [string]>(1, (db, tenant) =>
  db.selectFrom("tenants").selectAll().where("id", "=", tenant),
);

export function createTenantRepository(db: Kysely<Database>): TenantStore {
  return {
    async get(tenant) {
      const [row] = (await selectTenant(db, tenant)).rows;
      return row === undefined ? undefined : toTenant(row);
    },

    async list({ after, limit }) {
      const rows = await tenantPage(db, after, limit).selectAll().execute();
      return toPage(rows.map(toTenant), limit, (tenant) => encodeCursor(tenant.id));
    },

    async listIds({ after, limit }) {
      const rows = await tenantPage(db, after, limit).select("id").execute();
      return toPage(
        rows.map((row) => row.id),
        limit,
        encodeCursor,
      );
    },

    // ON CONFLICT rather than catching the violation: in PostgreSQL a failed statement aborts
    // the whole transaction, and the caller must be able to go on after a lost race.
    async insert(record) {
      const inserted = await db
        .insertInto("tenants")
        .values({
          id: record.id,
          name: record.name,
          created_at: toTimeText(record.createdAt, "createdAt"),
          return_urls: toJsonText(record.returnUrls),
          logo_url: record.logoUrl ?? null,
        })
        .onConflict((conflict) => conflict.column("id").doNothing())
        .returning("id")
        .executeTakeFirst();
      return inserted !== undefined;
    },

    async setReturnUrls(tenant, returnUrls) {
      const updated = await db
        .updateTable("tenants")
        .set({ return_urls: toJsonText(returnUrls) })
        .where("id", "=", tenant)
        .executeTakeFirst();
      return updated.numUpdatedRows === 1n;
    },

    // An update that changes nothing still locks the row on PostgreSQL until the transaction
    // ends. Setting a column outside every key takes FOR NO KEY UPDATE, which does not wait for
    // (nor block) the key-share locks that inserts of the tenant's rows take on it.
    async lock(tenant) {
      const updated = await db
        .updateTable("tenants")
        .set((eb) => ({ name: eb.ref("name") }))
        .where("id", "=", tenant)
        .executeTakeFirst();
      return updated.numUpdatedRows === 1n;
    },

    async setLogoUrl(tenant, logoUrl) {
      const updated = await db
        .updateTable("tenants")
        .set({ logo_url: logoUrl ?? null })
        .where("id", "=", tenant)
        .executeTakeFirst();
      return updated.numUpdatedRows === 1n;
    },
  };
}

/** The tenants after cursor `after`, in id order, one more than `limit` (see `toPage`). */
function tenantPage(db: Kysely<Database>, after: string | undefined, limit: number) {
  checkLimit(limit);
  const query = db
    .selectFrom("tenants")
    .orderBy("id")
    .limit(literalLimit(limit + 1));
  return after === undefined ? query : query.where("id", ">", decodeCursor(after));
}

function toTenant(row: Selectable<TenantsTable>): TenantRecord {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    returnUrls: fromCheckedJsonText(
      row.return_urls,
      () => new UnreadableRecord({ kind: "row", table: "tenants", id: row.id }),
    ) as string[],
    ...(row.logo_url === null ? {} : { logoUrl: row.logo_url }),
  };
}
