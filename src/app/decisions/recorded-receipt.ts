import { chainOf, checkRecordedReceipt, hashEvent, recordedEventId } from "../audit/audit-chain.js";
import { UnreadableRecord, type Repositories } from "../ports.js";
import type { ReceiptRecord } from "../records.js";

/** A stored receipt with what its `decision.recorded` event says of it. */
export type RecordedReceipt =
  /** Refused: whoever reads it may act on its outcome. `tenant` is the receipt's own. */
  | { readonly problem: "receipt_mismatch"; readonly tenant: string }
  /** Bound to its event (`undefined`), or recorded by no event (`receipt_unrecorded`). */
  | {
      readonly problem: "receipt_unrecorded" | undefined;
      readonly tenant: string;
      readonly receipt: ReceiptRecord;
    };

/**
 * Reads receipt `id` and checks it against the `decision.recorded` event that bound it, read by
 * its id in whichever chain holds it (one probe of the audit log's unique id index, no chain
 * scan): `receipt_mismatch` when the receipt no longer hashes to the digest its event recorded,
 * when the event is in another tenant's chain than the receipt says (a receipt moved), when the
 * event itself no longer hashes to its own hash (its digest edited with the receipt), or when
 * the receipt or the event holds text that is not JSON (written outside the service);
 * `receipt_unrecorded` when there is no such event (deleted, a receipt written outside the
 * service, or one recorded before receipts were bound, whose event has a random id). None when
 * there is no such receipt. Someone who also rewrites the chain after the event, hashes and head
 * recomputed, is found only by `audit verify` against a checkpoint taken after the decision.
 */
export async function readRecordedReceipt(
  r: Pick<Repositories, "audit" | "receipts">,
  id: string,
): Promise<RecordedReceipt | undefined> {
  let receipt: ReceiptRecord | undefined;
  try {
    receipt = await r.receipts.get(id);
  } catch (error) {
    if (!(error instanceof UnreadableRecord) || error.record.kind !== "receipt") throw error;
    return { problem: "receipt_mismatch", tenant: error.record.tenant };
  }
  if (receipt === undefined) return undefined;
  const problem = await checkReceiptRecorded(r, receipt);
  return problem === "receipt_mismatch"
    ? { problem, tenant: receipt.tenant }
    : { problem, tenant: receipt.tenant, receipt };
}

async function checkReceiptRecorded(
  r: Pick<Repositories, "audit">,
  receipt: ReceiptRecord,
): Promise<"receipt_mismatch" | "receipt_unrecorded" | undefined> {
  let event;
  try {
    event = await r.audit.findAnywhere(recordedEventId(receipt.id));
  } catch (error) {
    if (!(error instanceof UnreadableRecord) || error.record.kind !== "audit_event") throw error;
    return "receipt_mismatch";
  }
  if (event === undefined) return "receipt_unrecorded";
  if (event.chain !== chainOf(receipt.tenant) || hashEvent(event) !== event.hash) {
    return "receipt_mismatch";
  }
  return checkRecordedReceipt(event, receipt) === undefined ? undefined : "receipt_mismatch";
}
