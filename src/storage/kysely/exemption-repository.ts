import { sql, type Kysely, type Selectable } from "kysely";
import { AppError } from "../../app/errors.js";
import type { ExemptionFilter, ExemptionStore } from "../../app/ports.js";
import type { ExemptionRecord } from "../../app/records.js";
import type { Database, ExemptionsTable } from "./database.js";
import { checkLimit, decodeCursor, encodeCursor, literalLimit, toPage } from "./page.js";
import { queryTemplate } from "./query-template.js";
import { toTimeText } from "./time-text.js";

/** The lookup every decision makes: a principal's exemptions active at an instant. */
function isDecisionLookup(
  filter: ExemptionFilter,
): filter is ExemptionFilter & { principal: string; activeAt: string } {
  return (
    filter.principal !== undefined &&
    filter.activeAt !== undefined &&
    filter.status === undefined &&
    filter.category === undefined &&
    filter.unexpiredAt === undefined
  );
}

type ActiveOfPrincipal = ReturnType<
  typeof queryTemplate<Selectable<ExemptionsTable>, [string, string, string]>
>;

// The same query as the general path below builds for that filter, compiled once per limit (the
// limit is written into the SQL: `literalLimit`). Decisions always ask for the same one.
const activeOfPrincipalByLimit = new Map<number, ActiveOfPrincipal>();
function selectActiveOfPrincipal(limit: number): ActiveOfPrincipal {
  let template = activeOfPrincipalByLimit.get(limit);
  if (template === undefined) {
    template = queryTemplate<Selectable<ExemptionsTable>, [string, string, string]>(
      3,
      (db, tenant, principal, at) =>
        db
          .selectFrom("exemptions")
          .selectAll()
          .where("tenant", "=", tenant)
          .where("principal", "=", principal)
          // A literal: a bound status would be compiled again on every run by SQLite, as the
          // partial index of 0024 names the column (partial-index-literals.test.ts).
          .where("status", "=", sql.lit("approved"))
          .where("starts_at", "<=", at)
          .where("expires_at", ">", at)
          .orderBy("id")
          .limit(literalLimit(limit)),
    );
    activeOfPrincipalByLimit.set(limit, template);
  }
  return template;
}

/**
 * The exemptions stored through `db`. With `lockRows` (PostgreSQL, whose transactions run side
 * by side) `hold` locks the row it reads, which SQLite, whose write transactions are serial, has
 * no clause for and no need of.
 */
export function createExemptionRepository(
  db: Kysely<Database>,
  options: { readonly lockRows: boolean },
): ExemptionStore {
  const select = (tenant: string, id: string) =>
    db.selectFrom("exemptions").selectAll().where("tenant", "=", tenant).where("id", "=", id);
  return {
    async get(tenant, id) {
      const row = await select(tenant, id).executeTakeFirst();
      return row === undefined ? undefined : toExemption(row);
    },

    // FOR SHARE, not FOR UPDATE: two exchanges under one exemption need not queue, only a change
    // of it. Under READ COMMITTED a locking read returns the newest committed version of the
    // row once any writer of it has ended, not the one the statement's snapshot saw.
    async hold(tenant, id) {
      const query = select(tenant, id);
      const row = await (options.lockRows ? query.forShare() : query).executeTakeFirst();
      return row === undefined ? undefined : toExemption(row);
    },

    async list(tenant, filter, { after, limit }) {
      checkLimit(limit);
      if (isDecisionLookup(filter) && after === undefined) {
        const at = toTimeText(filter.activeAt, "activeAt");
        const { rows } = await selectActiveOfPrincipal(limit + 1)(db, tenant, filter.principal, at);
        return toPage(rows.map(toExemption), limit, (exemption) => encodeCursor(exemption.id));
      }
      let query = db.selectFrom("exemptions").selectAll().where("tenant", "=", tenant);
      if (filter.principal !== undefined) query = query.where("principal", "=", filter.principal);
      if (filter.status !== undefined) query = query.where("status", "=", filter.status);
      if (filter.category !== undefined) query = query.where("category", "=", filter.category);
      if (filter.activeAt !== undefined) {
        const at = toTimeText(filter.activeAt, "activeAt");
        query = query
          .where("status", "=", sql.lit("approved"))
          .where("starts_at", "<=", at)
          .where("expires_at", ">", at);
      }
      if (filter.unexpiredAt !== undefined) {
        query = query.where("expires_at", ">", toTimeText(filter.unexpiredAt, "unexpiredAt"));
      }
      if (after !== undefined) query = query.where("id", ">", decodeCursor(after));
      const rows = await query
        .orderBy("id")
        .limit(literalLimit(limit + 1))
        .execute();
      return toPage(rows.map(toExemption), limit, (exemption) => encodeCursor(exemption.id));
    },

    // The status is written as a literal, as the partial index of requested exemptions by
    // requester (0024) says it, so that either planner uses that index.
    async listRequestedBy(requestedBy, { after, limit }) {
      checkLimit(limit);
      let query = db
        .selectFrom("exemptions")
        .selectAll()
        .where("requested_by", "=", requestedBy)
        .where("status", "=", sql.lit("requested"));
      if (after !== undefined) {
        const [tenant, id] = decodeRequestedByCursor(after);
        query = query.where((eb) =>
          eb.or([
            eb("tenant", ">", tenant),
            eb.and([eb("tenant", "=", tenant), eb("id", ">", id)]),
          ]),
        );
      }
      const rows = await query
        .orderBy("tenant")
        .orderBy("id")
        .limit(literalLimit(limit + 1))
        .execute();
      return toPage(rows.map(toExemption), limit, (exemption) =>
        encodeCursor(JSON.stringify([exemption.tenant, exemption.id])),
      );
    },

    async insert(record) {
      await db
        .insertInto("exemptions")
        .values({ tenant: record.tenant, id: record.id, ...toMutableColumns(record) })
        .execute();
    },

    // Compare-and-set on status, so that two administrators deciding at once cannot both win.
    async update(record, expected) {
      const result = await db
        .updateTable("exemptions")
        .set(toMutableColumns(record))
        .where("tenant", "=", record.tenant)
        .where("id", "=", record.id)
        .where("status", "=", expected)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    // A revoked exemption was in force from its start until the earlier of its expiry and its
    // revocation, if it had been approved and the revocation came after the start.
    async listInForce(tenant, principal, window, limit) {
      checkLimit(limit);
      const from = toTimeText(window.from, "from");
      const to = toTimeText(window.to, "to");
      const rows = await db
        .selectFrom("exemptions")
        .selectAll()
        .where("tenant", "=", tenant)
        .where("principal", "=", principal)
        .where("starts_at", "<=", to)
        .where("expires_at", ">=", from)
        .where((eb) =>
          eb.or([
            eb("status", "=", "approved"),
            eb.and([
              eb("status", "=", "revoked"),
              eb("approved_by", "is not", null),
              eb("decided_at", ">", eb.ref("starts_at")),
              eb("decided_at", ">=", from),
            ]),
          ]),
        )
        .orderBy("starts_at")
        .orderBy("id")
        .limit(literalLimit(limit))
        .execute();
      return rows.map(toExemption);
    },

    async countApprovedOverlapping(tenant, window) {
      const from = toTimeText(window.from, "from");
      const to = toTimeText(window.to, "to");
      const row = await db
        .selectFrom("exemptions")
        .select((eb) => eb.fn.countAll().as("total"))
        .where("tenant", "=", tenant)
        .where("status", "=", sql.lit("approved"))
        .where("starts_at", "<", to)
        .where("expires_at", ">", from)
        .executeTakeFirstOrThrow();
      return Number(row.total);
    },
  };
}

/** The tenant and id a cursor of `listRequestedBy` holds; anything else is refused. */
function decodeRequestedByCursor(cursor: string): [string, string] {
  const text = decodeCursor(cursor);
  let key: unknown;
  try {
    key = JSON.parse(text);
  } catch {
    key = undefined;
  }
  if (
    !Array.isArray(key) ||
    key.length !== 2 ||
    typeof key[0] !== "string" ||
    typeof key[1] !== "string"
  ) {
    throw new AppError("request.invalid", "after is not a cursor this service gave out.");
  }
  return [key[0], key[1]];
}

function toMutableColumns(record: ExemptionRecord) {
  return {
    principal: record.principal,
    category: record.category,
    status: record.status,
    starts_at: toTimeText(record.startsAt, "startsAt"),
    expires_at: toTimeText(record.expiresAt, "expiresAt"),
    requested_by: record.requestedBy,
    approved_by: record.approvedBy ?? null,
    owner: record.owner,
    justification: record.justification,
    review_at: toTimeText(record.reviewAt, "reviewAt"),
    renewal_of: record.renewalOf ?? null,
    created_at: toTimeText(record.createdAt, "createdAt"),
    decided_by: record.decidedBy ?? null,
    decided_at: record.decidedAt === undefined ? null : toTimeText(record.decidedAt, "decidedAt"),
  };
}

function toExemption(row: Selectable<ExemptionsTable>): ExemptionRecord {
  return {
    id: row.id,
    tenant: row.tenant,
    principal: row.principal,
    category: row.category as ExemptionRecord["category"],
    status: row.status as ExemptionRecord["status"],
    startsAt: row.starts_at,
    expiresAt: row.expires_at,
    requestedBy: row.requested_by,
    ...(row.approved_by === null ? {} : { approvedBy: row.approved_by }),
    owner: row.owner,
    justification: row.justification,
    reviewAt: row.review_at,
    ...(row.renewal_of === null ? {} : { renewalOf: row.renewal_of }),
    createdAt: row.created_at,
    ...(row.decided_by === null ? {} : { decidedBy: row.decided_by }),
    ...(row.decided_at === null ? {} : { decidedAt: row.decided_at }),
  };
}
