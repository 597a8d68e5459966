import { statSync } from "node:fs";
import Sqlite from "better-sqlite3";
import type { TotpBench } from "./application.js";

/**
 * Checks what the sign-ins left in the store: one receipt per sign-in, all `allow`, one
 * `decision.recorded` and one `authenticator.verified` event each, no failed verification and
 * no lock; each principal's last accepted step is the step of its last sign-in; a sample of the
 * decisions (at most 256, evenly spaced) read back through `app.decisions.receipt` as `allow`;
 * every audit chain intact (`app.audit.verify`). Throws on the first discrepancy and returns a
 * line for the notes otherwise.
 */
export async function verifyTotpStore(
  bench: TotpBench,
  signIns: number,
  decisionIds: readonly string[],
): Promise<string> {
  const started = performance.now();
  const database = new Sqlite(bench.dbPath, { readonly: true });
  let receipts: number;
  let allowed: number;
  let recorded: number;
  let verified: number;
  let failed: number;
  let locked: number;
  let wrongSteps: number;
  try {
    const count = (sql: string, ...values: unknown[]): number =>
      (database.prepare(sql).get(...values) as { n: number }).n;
    receipts = count("select count(*) as n from receipts");
    allowed = count("select count(*) as n from receipts where outcome = 'allow'");
    recorded = count("select count(*) as n from audit_events where type = 'decision.recorded'");
    verified = count(
      "select count(*) as n from audit_events where type = 'authenticator.verified'",
    );
    failed = count(
      "select count(*) as n from audit_events where type in ('authenticator.verification_failed', 'authenticator.locked')",
    );
    locked = count(
      "select count(*) as n from authenticators where locked_at is not null or failed_attempts > 0",
    );
    // Sign-in k went to principal k mod N at step firstStep + floor(k / N).
    const n = bench.principals.length;
    wrongSteps = 0;
    const lastStep = database.prepare(
      "select last_step as n from authenticators where principal = ? and id = ?",
    );
    bench.principals.forEach((p, index) => {
      const last = index < signIns ? Math.floor((signIns - 1 - index) / n) : -1;
      const expected = last < 0 ? bench.firstStep - 1 : bench.firstStep + last;
      const row = lastStep.get(p.principal, p.authenticator) as { n: number } | undefined;
      if (row?.n !== expected) wrongSteps++;
    });
  } finally {
    database.close();
  }
  if (
    receipts !== signIns ||
    allowed !== signIns ||
    recorded !== signIns ||
    verified !== signIns ||
    failed !== 0 ||
    locked !== 0 ||
    wrongSteps !== 0
  ) {
    throw new Error(
      `${String(signIns)} sign-ins left ${String(receipts)} receipts (${String(allowed)} allow), ` +
        `${String(recorded)} decision.recorded, ${String(verified)} authenticator.verified and ` +
        `${String(failed)} failure or lock events, ${String(locked)} authenticators with ` +
        `failures and ${String(wrongSteps)} whose last step is not their last sign-in's`,
    );
  }
  if (decisionIds.length !== signIns) {
    throw new Error(`${String(decisionIds.length)} decisions for ${String(signIns)} sign-ins`);
  }
  const every = Math.max(1, Math.ceil(decisionIds.length / 256));
  let sampled = 0;
  for (let index = 0; index < decisionIds.length; index += every) {
    const id = decisionIds[index] ?? "";
    const receipt = await bench.app.decisions.receipt(bench.admin, id);
    if (receipt.outcome !== "allow" || receipt.decision.outcome !== "allow") {
      throw new Error(`receipt ${id} says ${receipt.outcome}`);
    }
    sampled++;
  }
  const audit = await bench.app.audit.verify(bench.admin, {});
  if (!audit.ok) throw new Error(`the audit chains do not verify: ${JSON.stringify(audit.broken)}`);
  const bytes = fileSize(bench.dbPath) + fileSize(`${bench.dbPath}-wal`);
  const n = (value: number): string => value.toLocaleString("en-US");
  return (
    `store check: ${n(receipts)} receipts, all allow, ${n(recorded)} decision.recorded and ` +
    `${n(verified)} authenticator.verified events for ${n(signIns)} sign-ins (warm-up included), ` +
    `no failed verification, no lock, every principal's last step its last sign-in's ✓; ` +
    `${String(sampled)} receipts read back through app.decisions.receipt ✓; app.audit.verify: ` +
    `ok, ${n(audit.chains)} chains, ${n(audit.events)} events ✓ ` +
    `(${((performance.now() - started) / 1000).toFixed(1)} s; database + WAL ` +
    `${(bytes / 1e6).toFixed(1)} MB)`
  );
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
