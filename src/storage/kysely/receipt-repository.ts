import type { Kysely, Selectable } from "kysely";
import { UnreadableRecord, type ReceiptStore } from "../../app/ports.js";
import type { ReceiptRecord } from "../../app/records.js";
import type { Database, ReceiptsTable } from "./database.js";
import { fromWrittenJsonText, toJsonText } from "./json-text.js";
import { queryTemplate } from "./query-template.js";
import { insertRows } from "./statement-rows.js";
import { toTimeText } from "./time-text.js";

// Every decision writes one: compiled once (query-template.ts).
const insertReceipt = queryTemplate<
  unknown,
  [string, string, string, string, string, string, string]
>(7, (db, id, tenant, principal, outcome, createdAt, decision, inputSummary) =>
  db.insertInto("receipts").values({
    id,
    tenant,
    principal,
    outcome,
    created_at: createdAt,
    decision,
    input_summary: inputSummary,
  }),
);

export function createReceiptRepository(db: Kysely<Database>): ReceiptStore {
  const insertOne = (r: ReceiptsTable) =>
    insertReceipt(
      db,
      r.id,
      r.tenant,
      r.principal,
      r.outcome,
      r.created_at,
      r.decision,
      r.input_summary,
    );

  return {
    async get(id) {
      const row = await db
        .selectFrom("receipts")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirst();
      return row === undefined ? undefined : toReceipt(row);
    },

    async getMany(ids) {
      if (ids.length === 0) return [];
      const rows = await db.selectFrom("receipts").selectAll().where("id", "in", ids).execute();
      return rows.map(toReceipt);
    },

    async countByTenant() {
      const rows = await db
        .selectFrom("receipts")
        .select(["tenant", (eb) => eb.fn.countAll<number | string | bigint>().as("count")])
        .groupBy("tenant")
        .execute();
      // PostgreSQL answers count(*) as a bigint, which pg hands over as text.
      return new Map(rows.map((row) => [row.tenant, Number(row.count)]));
    },

    async insert(record) {
      await insertOne(toRow(record));
    },

    async insertMany(records) {
      await insertRows(db, records.map(toRow), insertOne, (rows) =>
        db.insertInto("receipts").values(rows).execute(),
      );
    },
  };
}

function toRow(record: ReceiptRecord): ReceiptsTable {
  return {
    id: record.id,
    tenant: record.tenant,
    principal: record.principal,
    outcome: record.outcome,
    created_at: toTimeText(record.createdAt, "createdAt"),
    decision: toJsonText(record.decision),
    input_summary: toJsonText(record.inputSummary),
  };
}

function toReceipt(row: Selectable<ReceiptsTable>): ReceiptRecord {
  const unreadable = () =>
    new UnreadableRecord({ kind: "receipt", id: row.id, tenant: row.tenant });
  return {
    id: row.id,
    tenant: row.tenant,
    principal: row.principal,
    outcome: row.outcome as ReceiptRecord["outcome"],
    createdAt: row.created_at,
    decision: fromWrittenJsonText(row.decision, unreadable) as ReceiptRecord["decision"],
    inputSummary: fromWrittenJsonText(
      row.input_summary,
      unreadable,
    ) as ReceiptRecord["inputSummary"],
  };
}
