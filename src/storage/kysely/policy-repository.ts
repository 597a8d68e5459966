import type { Kysely, Selectable } from "kysely";
import type { PolicyStore } from "../../app/ports.js";
import type { PolicyVersionRecord } from "../../app/records.js";
import type { TenantPolicy } from "../../core/policy.js";
import type { Database, PolicyVersionsTable } from "./database.js";
import { fromRowJsonText, toJsonText } from "./json-text.js";
import { checkLimit, literalLimit, toPage } from "./page.js";
import { queryTemplate } from "./query-template.js";
import { toTimeText } from "./time-text.js";
import { findUnreadableRowsOf } from "./unreadable-rows.js";

// Read on every rules-cache miss (at many tenants, most decisions): compiled once.
const selectCurrentPolicy = queryTemplate<Selectable<PolicyVersionsTable>, [string]>(
  1,
  (db, tenant) =>
    db
      .selectFrom("policy_versions")
      .selectAll()
      .where("tenant", "=", tenant)
      .orderBy("version", "desc")
      .limit(literalLimit(1)),
);

export function createPolicyRepository(db: Kysely<Database>): PolicyStore {
  return {
    async current(tenant) {
      const [row] = (await selectCurrentPolicy(db, tenant)).rows;
      return row === undefined ? undefined : toPolicyVersion(row);
    },

    async get(tenant, version) {
      const row = await db
        .selectFrom("policy_versions")
        .selectAll()
        .where("tenant", "=", tenant)
        .where("version", "=", version)
        .executeTakeFirst();
      return row === undefined ? undefined : toPolicyVersion(row);
    },

    // `before` is a version number, so `next` is the decimal version of the last item returned:
    // the caller passes `Number(next)` back as `before`.
    async history(tenant, { before, limit }) {
      checkLimit(limit);
      let query = db.selectFrom("policy_versions").selectAll().where("tenant", "=", tenant);
      if (before !== undefined) query = query.where("version", "<", before);
      const rows = await query
        .orderBy("version", "desc")
        .limit(literalLimit(limit + 1))
        .execute();
      return toPage(rows.map(toPolicyVersion), limit, (record) => String(record.version));
    },

    listUnreadable: (filter) =>
      findUnreadableRowsOf(db, "policy_versions", ["tenant", "version"], toPolicyVersion, filter),

    async insert(record) {
      const inserted = await db
        .insertInto("policy_versions")
        .values({
          tenant: record.tenant,
          version: record.version,
          policy: toJsonText(record.policy),
          rationale: record.rationale,
          actor: record.actor,
          created_at: toTimeText(record.createdAt, "createdAt"),
          rollback_of: record.rollbackOf ?? null,
        })
        .onConflict((conflict) => conflict.columns(["tenant", "version"]).doNothing())
        .returning("version")
        .executeTakeFirst();
      return inserted !== undefined;
    },
  };
}

function toPolicyVersion(row: Selectable<PolicyVersionsTable>): PolicyVersionRecord {
  return {
    tenant: row.tenant,
    version: row.version,
    policy: fromRowJsonText(row.policy, {
      table: "policy_versions",
      id: row.tenant,
      version: row.version,
    }) as TenantPolicy,
    rationale: row.rationale,
    actor: row.actor,
    createdAt: row.created_at,
    ...(row.rollback_of === null ? {} : { rollbackOf: row.rollback_of }),
  };
}
