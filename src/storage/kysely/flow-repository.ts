import type { Kysely, Selectable } from "kysely";
import type { FlowStore } from "../../app/ports.js";
import type { FlowRecord, FlowStatus } from "../../app/records.js";
import type { Database, FlowsTable } from "./database.js";
import { fromRowJsonText, toJsonText } from "./json-text.js";
import { queryTemplate } from "./query-template.js";
import { toTimeText } from "./time-text.js";

/** What the flows table keeps in its JSON document: everything but its columns. */
type FlowDocument = Omit<
  FlowRecord,
  "id" | "tenant" | "principal" | "codeHash" | "status" | "version" | "expiresAt"
>;

// Every visit of a hosted page reads its flow and most move it on: compiled once
// (query-template.ts).
const selectFlow = queryTemplate<Selectable<FlowsTable>, [string, string]>(2, (db, tenant, id) =>
  db.selectFrom("flows").selectAll().where("id", "=", id).where("tenant", "=", tenant),
);
const selectFlowByCodeHash = queryTemplate<Selectable<FlowsTable>, [string]>(1, (db, codeHash) =>
  db.selectFrom("flows").selectAll().where("code_hash", "=", codeHash),
);
// One conditional UPDATE: the row lock (PostgreSQL, READ COMMITTED re-reads the row after the
// first writer commits) or the write lock (SQLite) makes the second of two writers from one
// version match nothing.
const updateFlow = queryTemplate<
  unknown,
  [string, string | null, string, number, string, string, string, string, number]
>(9, (db, principal, codeHash, status, version, expiresAt, document, id, tenant, expected) =>
  db
    .updateTable("flows")
    .set({
      principal,
      code_hash: codeHash,
      status,
      version,
      expires_at: expiresAt,
      document,
    })
    .where("id", "=", id)
    .where("tenant", "=", tenant)
    .where("version", "=", expected),
);

export function createFlowRepository(db: Kysely<Database>): FlowStore {
  return {
    async insert(record) {
      await db.insertInto("flows").values(toRow(record)).execute();
    },

    async get(tenant, id) {
      const [row] = (await selectFlow(db, tenant, id)).rows;
      return row === undefined ? undefined : toFlow(row);
    },

    async findByCodeHash(codeHash) {
      const [row] = (await selectFlowByCodeHash(db, codeHash)).rows;
      return row === undefined ? undefined : toFlow(row);
    },

    async update(record) {
      const row = toRow(record);
      const updated = await updateFlow(
        db,
        row.principal,
        row.code_hash,
        row.status,
        row.version,
        row.expires_at,
        row.document,
        row.id,
        row.tenant,
        row.version - 1,
      );
      return updated.numAffectedRows === 1n;
    },

    async unspentOf(tenant, principal) {
      const rows = await db
        .selectFrom("flows")
        .selectAll()
        .where("tenant", "=", tenant)
        .where("principal", "=", principal)
        .where("status", "in", ["pending", "completed"])
        // One order for every caller: two withdrawals for one principal take the rows' locks
        // in the same order and never wait for each other in a cycle.
        .orderBy("id")
        .execute();
      return rows.map(toFlow);
    },

    async purge(before) {
      const deleted = await db
        .deleteFrom("flows")
        .where("expires_at", "<", toTimeText(before, "before"))
        .executeTakeFirst();
      return Number(deleted.numDeletedRows);
    },
  };
}

function toRow(record: FlowRecord): Selectable<FlowsTable> {
  if (!Number.isSafeInteger(record.version) || record.version < 1) {
    throw new RangeError(`version must be a positive integer: ${String(record.version)}`);
  }
  return {
    id: record.id,
    tenant: record.tenant,
    principal: record.principal,
    code_hash: record.codeHash ?? null,
    status: record.status,
    version: record.version,
    expires_at: toTimeText(record.expiresAt, "expiresAt"),
    document: toJsonText(flowDocument(record)),
  };
}

/**
 * The document as written: every key listed (`-?`), so that a field added to FlowRecord fails to
 * compile here until it is stored; an absent optional field is `undefined`, which JSON drops, so
 * it reads back absent.
 */
type FlowDocumentFields = { [Key in keyof FlowDocument]-?: FlowDocument[Key] | undefined };

/**
 * The document in a fixed key order, with only the record's own fields, so that both stores
 * keep the same bytes and nothing a caller attached by accident is stored.
 */
function flowDocument(record: FlowRecord): FlowDocumentFields {
  return {
    population: record.population,
    createdBy: record.createdBy,
    audience: record.audience,
    returnTo: record.returnTo,
    state: record.state,
    stepUp: record.stepUp,
    firstFactor: record.firstFactor,
    events: record.events,
    idpAnswer: record.idpAnswer,
    openingHash: record.openingHash,
    browserHash: record.browserHash,
    csrfToken: record.csrfToken,
    decision: record.decision,
    codeExpiresAt: optionalTime(record.codeExpiresAt, "codeExpiresAt"),
    reusedSession: record.reusedSession,
    acknowledgedAt: optionalTime(record.acknowledgedAt, "acknowledgedAt"),
    withdrawals: record.withdrawals,
    proofsWithdrawnAt: optionalTime(record.proofsWithdrawnAt, "proofsWithdrawnAt"),
    refusalsAuditedAt: record.refusalsAuditedAt,
    createdAt: toTimeText(record.createdAt, "createdAt"),
    updatedAt: toTimeText(record.updatedAt, "updatedAt"),
  };
}

const optionalTime = (value: string | undefined, field: string): string | undefined =>
  value === undefined ? undefined : toTimeText(value, field);

function toFlow(row: Selectable<FlowsTable>): FlowRecord {
  return {
    id: row.id,
    tenant: row.tenant,
    principal: row.principal,
    ...(fromRowJsonText(row.document, { table: "flows", id: row.id }) as FlowDocument),
    status: row.status as FlowStatus,
    ...(row.code_hash === null ? {} : { codeHash: row.code_hash }),
    expiresAt: row.expires_at,
    version: row.version,
  };
}
