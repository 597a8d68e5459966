import { chainOf, checkRecordedReceipt, hashEvent, recordedEventId } from "../audit/audit-chain.js";
import type { Repositories } from "../ports.js";
import type { ReceiptRecord } from "../records.js";

/**
 * Checks a stored receipt against the `decision.recorded` event that bound it, read by its id in
 * whichever chain holds it (one probe of the audit log's unique id index, no chain scan):
 * `receipt_mismatch` when the receipt no longer hashes to the digest its event recorded, when the
 * event is in another tenant's chain than the receipt says (a receipt moved), or when the event
 * itself no longer hashes to its own hash (its digest edited with the receipt);
 * `receipt_unrecorded` when there is no such event (deleted, a receipt written outside the
 * service, or one recorded before receipts were bound, whose event has a random id). Someone who
 * also rewrites the chain after the event, hashes and head recomputed, is found only by
 * `audit verify` against a checkpoint taken after the decision.
 */
export async function checkReceiptRecorded(
  r: Pick<Repositories, "audit">,
  receipt: ReceiptRecord,
): Promise<"receipt_mismatch" | "receipt_unrecorded" | undefined> {
  const event = await r.audit.findAnywhere(recordedEventId(receipt.id));
  if (event === undefined) return "receipt_unrecorded";
  if (event.chain !== chainOf(receipt.tenant) || hashEvent(event) !== event.hash) {
    return "receipt_mismatch";
  }
  return checkRecordedReceipt(event, receipt) === undefined ? undefined : "receipt_mismatch";
}
