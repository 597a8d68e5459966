import type { Kysely, Selectable } from "kysely";
import type { ReceiptStore } from "../../app/ports.js";
import type { ReceiptRecord } from "../../app/records.js";
import type { Database, ReceiptsTable } from "./database.js";
import { fromJsonText, toJsonText } from "./json-text.js";
import { toTimeText } from "./time-text.js";

export function createReceiptRepository(db: Kysely<Database>): ReceiptStore {
  return {
    async get(id) {
      const row = await db
        .selectFrom("receipts")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirst();
      return row === undefined ? undefined : toReceipt(row);
    },

    async insert(record) {
      await db
        .insertInto("receipts")
        .values({
          id: record.id,
          tenant: record.tenant,
          principal: record.principal,
          outcome: record.outcome,
          created_at: toTimeText(record.createdAt, "createdAt"),
          decision: toJsonText(record.decision),
          input_summary: toJsonText(record.inputSummary),
        })
        .execute();
    },
  };
}

function toReceipt(row: Selectable<ReceiptsTable>): ReceiptRecord {
  return {
    id: row.id,
    tenant: row.tenant,
    principal: row.principal,
    outcome: row.outcome as ReceiptRecord["outcome"],
    createdAt: row.created_at,
    decision: fromJsonText(row.decision) as ReceiptRecord["decision"],
    inputSummary: fromJsonText(row.input_summary) as ReceiptRecord["inputSummary"],
  };
}
