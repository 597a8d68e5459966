import { chainOf, checkRecordedReceipt, recordedEventId } from "../audit/audit-chain.js";
import type { Repositories } from "../ports.js";
import type { ReceiptRecord } from "../records.js";

/**
 * Checks a stored receipt against the `decision.recorded` event that bound it, read by its id
 * (one probe of the audit log's unique id index, no chain scan): `receipt_mismatch` when the
 * receipt no longer hashes to the digest its event recorded, `receipt_unrecorded` when there is no
 * such event (deleted, a receipt written outside the service, or one recorded before receipts
 * were bound, whose event has a random id).
 */
export async function checkReceiptRecorded(
  r: Pick<Repositories, "audit">,
  receipt: ReceiptRecord,
): Promise<"receipt_mismatch" | "receipt_unrecorded" | undefined> {
  const event = await r.audit.find(chainOf(receipt.tenant), recordedEventId(receipt.id));
  if (event === undefined) return "receipt_unrecorded";
  return checkRecordedReceipt(event, receipt) === undefined ? undefined : "receipt_mismatch";
}
