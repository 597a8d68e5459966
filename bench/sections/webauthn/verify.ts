import { statSync } from "node:fs";
import Sqlite from "better-sqlite3";
import type { WebAuthnBench } from "./application.js";

/**
 * Checks what the sign-ins left in the store: one receipt per sign-in, all `allow`, one
 * `decision.recorded` and one `webauthn.verified` event each; no failed authentication, clone
 * signal or lock; every challenge consumed; every credential at counter 0 with no failure
 * count and a last use; a sample of the decisions (at most 256, evenly spaced) read back
 * through `app.decisions.receipt` as `allow`; every audit chain intact (`app.audit.verify`).
 * Throws on the first discrepancy and returns a line for the notes otherwise.
 */
export async function verifyWebAuthnStore(
  bench: WebAuthnBench,
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
  let pending: number;
  let credentials: number;
  let unused: number;
  let wrong: number;
  try {
    const count = (sql: string): number => (database.prepare(sql).get() as { n: number }).n;
    receipts = count("select count(*) as n from receipts");
    allowed = count("select count(*) as n from receipts where outcome = 'allow'");
    recorded = count("select count(*) as n from audit_events where type = 'decision.recorded'");
    verified = count("select count(*) as n from audit_events where type = 'webauthn.verified'");
    failed = count(
      "select count(*) as n from audit_events where type in ('webauthn.authentication_failed', 'webauthn.clone_detected', 'authenticator.locked')",
    );
    pending = count(
      "select count(*) as n from webauthn_challenges where purpose = 'authentication'",
    );
    credentials = count("select count(*) as n from webauthn_credentials");
    unused = count("select count(*) as n from webauthn_credentials where last_used_at is null");
    wrong = count(
      "select count(*) as n from webauthn_credentials where sign_count <> 0 or failed_attempts <> 0 or locked_at is not null",
    );
  } finally {
    database.close();
  }
  const principals = bench.principals.length;
  const expectedUnused = Math.max(0, principals - signIns);
  if (
    receipts !== signIns ||
    allowed !== signIns ||
    recorded !== signIns ||
    verified !== signIns ||
    failed !== 0 ||
    pending !== 0 ||
    credentials !== principals ||
    unused !== expectedUnused ||
    wrong !== 0
  ) {
    throw new Error(
      `${String(signIns)} sign-ins left ${String(receipts)} receipts (${String(allowed)} allow), ` +
        `${String(recorded)} decision.recorded, ${String(verified)} webauthn.verified and ` +
        `${String(failed)} failure, clone or lock events, ${String(pending)} authentication ` +
        `challenges not consumed, ${String(credentials)} credentials for ${String(principals)} ` +
        `principals, ${String(unused)} never used and ${String(wrong)} with a counter, a ` +
        `failure count or a lock`,
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
    if (receipt.decision.satisfiedBy?.aal !== 2) {
      throw new Error(
        `receipt ${id} was satisfied at AAL ${String(receipt.decision.satisfiedBy?.aal)}`,
      );
    }
    sampled++;
  }
  const audit = await bench.app.audit.verify(bench.admin, {});
  if (!audit.ok) throw new Error(`the audit chains do not verify: ${JSON.stringify(audit.broken)}`);
  const bytes = fileSize(bench.dbPath) + fileSize(`${bench.dbPath}-wal`);
  const n = (value: number): string => value.toLocaleString("en-US");
  return (
    `store check: ${n(receipts)} receipts, all allow, ${n(recorded)} decision.recorded and ` +
    `${n(verified)} webauthn.verified events for ${n(signIns)} sign-ins (warm-up included), ` +
    `no failed authentication, clone signal or lock, no authentication challenge left ` +
    `unconsumed, every credential at counter 0 with no failure count ✓; ${String(sampled)} ` +
    `receipts read back through app.decisions.receipt as allow at AAL 2 ✓; app.audit.verify: ` +
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
