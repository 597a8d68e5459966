import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Sqlite from "better-sqlite3";
import { bootstrapPlatformAdmin } from "../../../src/app/api-keys/api-keys.js";
import type { Application, Caller, IdpRegistration } from "../../../src/app/application.js";
import { DEFAULT_SETTINGS, type Context } from "../../../src/app/context.js";
import { createApplication } from "../../../src/app/create-application.js";
import type { FederationParts } from "../../../src/app/federation/endpoints.js";
import type { OidcProtocol } from "../../../src/app/federation/protocols.js";
import type { Store } from "../../../src/app/ports.js";
import { systemClock } from "../../../src/main.js";
import { createAesGcmSealer } from "../../../src/secrets/aes-gcm-sealer.js";
import { keyFromFile } from "../../../src/secrets/sealing-keys.js";
import { openStore } from "../../../src/storage/open-store.js";
import { createOidcProtocol } from "../../../src/verifiers/oidc/index.js";
import { createSamlProtocol } from "../../../src/verifiers/saml/index.js";
import type { ScriptedRandom } from "./scripted-random.js";

/** Where the bench's public URL, tenant, IdP and return URL live. */
export const PUBLIC_URL = "https://mfa.bench.example";
export const TENANT = "acme";
export const IDP = "corp";
export const RETURN_URL = "https://app.acme.example/signed-in";

/** The application as `openApplication` builds it, with a scripted `Random`, over a SQLite file. */
export interface BenchApplication {
  readonly app: Application & { close(): Promise<void> };
  readonly admin: Caller;
  readonly dbPath: string;
  /**
   * `Store.transaction` calls so far. On SQLite each runs in BEGIN IMMEDIATE … COMMIT on the one
   * connection, concurrent ones together in one (group commit, each in a savepoint).
   */
  transactions(): number;
  close(): Promise<void>;
}

/** The store, counting its transactions; everything else passes straight through. */
export function countingTransactions(store: Store): { store: Store; count: () => number } {
  let transactions = 0;
  return {
    store: {
      transaction: (work) => {
        transactions++;
        return store.transaction(work);
      },
      // Reads take no write lock (no BEGIN IMMEDIATE): not counted as transactions.
      read: (work) => store.read(work),
      notify: (change) => store.notify(change),
      onChange: (listener) => store.onChange(listener),
      ping: () => store.ping(),
      close: () => store.close(),
    },
    count: () => transactions,
  };
}

/**
 * Opens the store at `sqlite:<tmp>/tenant-mfa.db` (WAL, `synchronous=NORMAL`, as in production),
 * builds the application with real federation parts (AES-GCM sealer keyed from the file beside
 * the database, as `openApplication` does without configured keys; `createSamlProtocol()`;
 * `createOidcProtocol(oidc)`), the wall clock and `random`, and sets up tenant `acme` (return
 * URL registered, posture `idp_mfa`) with `registration` as its IdP `corp`, all through the use
 * cases, as an administrator would.
 */
export async function openBenchApplication(options: {
  readonly random: ScriptedRandom;
  readonly registration: IdpRegistration;
  readonly oidc?: OidcProtocol;
}): Promise<BenchApplication> {
  const dir = mkdtempSync(join(tmpdir(), "tenant-mfa-bench-federation-"));
  const dbPath = join(dir, "tenant-mfa.db");
  const { store, count } = countingTransactions(await openStore(`sqlite:${dbPath}`));
  const context: Context = {
    store,
    clock: systemClock,
    random: options.random,
    settings: DEFAULT_SETTINGS,
  };
  const federation: FederationParts = {
    secrets: createAesGcmSealer([keyFromFile(join(dir, "encryption-key.json"))]),
    saml: createSamlProtocol(),
    oidc: options.oidc ?? createOidcProtocol(),
    publicUrl: PUBLIC_URL,
  };
  const app = createApplication({ ...context, federation });
  const close = async (): Promise<void> => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const { secret } = await bootstrapPlatformAdmin(context, { name: "bench platform admin" });
    const admin = await app.authenticate(secret);
    await app.tenants.create(admin, { id: TENANT, name: "Acme", returnUrls: [RETURN_URL] });
    await app.policies.replace(admin, TENANT, {
      policy: { posture: "idp_mfa" },
      rationale: "Our people prove MFA at our own IdP",
      ifMatch: 1,
    });
    await app.idps.put(admin, TENANT, IDP, {
      registration: options.registration,
      ifMatch: undefined,
    });
    return { app, admin, dbPath, transactions: count, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** What {@link verifyStore} found after the timed rounds. */
export interface StoreCheck {
  readonly summary: string;
}

/**
 * Checks that every sign-in left what it should: one receipt per sign-in, all `allow`, one
 * `decision.recorded` event each, no rejection, every decision id the browser was sent back with
 * readable through `app.decisions.receipt` (at most 256, evenly spaced) with outcome `allow`, and every
 * audit chain intact (`app.audit.verify`). Throws on the first discrepancy.
 */
export async function verifyStore(
  bench: BenchApplication,
  signIns: number,
  decisionIds: readonly string[],
): Promise<StoreCheck> {
  const started = performance.now();
  const database = new Sqlite(bench.dbPath, { readonly: true });
  let receipts: number;
  let allowed: number;
  let recorded: number;
  let rejected: number;
  let drifts: number;
  try {
    const count = (sql: string): number => (database.prepare(sql).get() as { n: number }).n;
    receipts = count("select count(*) as n from receipts");
    allowed = count("select count(*) as n from receipts where outcome = 'allow'");
    recorded = count("select count(*) as n from audit_events where type = 'decision.recorded'");
    rejected = count(
      "select count(*) as n from audit_events where type in ('federation.rejected', 'federation.mfa_unavailable')",
    );
    drifts = count("select count(*) as n from audit_events where type = 'idp.drift'");
  } finally {
    database.close();
  }
  if (receipts !== signIns || allowed !== signIns || recorded !== signIns || rejected !== 0) {
    throw new Error(
      `${String(signIns)} sign-ins left ${String(receipts)} receipts (${String(allowed)} allow), ` +
        `${String(recorded)} decision.recorded and ${String(rejected)} rejection events`,
    );
  }
  if (decisionIds.length !== signIns) {
    throw new Error(`${String(decisionIds.length)} redirects for ${String(signIns)} sign-ins`);
  }
  const step = Math.max(1, Math.ceil(decisionIds.length / 256));
  let sampled = 0;
  for (let index = 0; index < decisionIds.length; index += step) {
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
  return {
    summary:
      `store check: ${n(receipts)} receipts, all allow, and ${n(recorded)} decision.recorded ` +
      `events for ${n(signIns)} sign-ins (warm-up included), no rejection ✓; ${String(sampled)} ` +
      `receipts read back through app.decisions.receipt by the redirect's decision id ✓; ` +
      `app.audit.verify: ok, ${n(audit.chains)} chains, ${n(audit.events)} events ✓; ` +
      `idp.drift events: ${String(drifts)} (${((performance.now() - started) / 1000).toFixed(1)} s; ` +
      `database + WAL ${(bytes / 1e6).toFixed(1)} MB)`,
  };
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The decision id of a redirect to the return URL, or a thrown error naming where it went. */
export function decisionOf(location: string): string {
  const url = new URL(location);
  const id = url.searchParams.get("decision");
  if (`${url.origin}${url.pathname}` !== RETURN_URL || id === null || !id.startsWith("dec_")) {
    throw new Error(`the sign-in ended at ${location}, not with a decision`);
  }
  return id;
}

/**
 * A browser's cookie, as the HTTP layer sets one (32 random bytes): a direct sign-in is bound to
 * the browser that starts it, and completes only when that cookie comes back (login CSRF).
 */
export function browserCookie(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * The one-time answer id of the ACS's redirect to the SAML completion (a direct sign-in's answer
 * is held there for its browser), or a thrown error naming where it went.
 */
export function heldAnswerOf(location: string): string {
  const url = new URL(location);
  const answer = url.searchParams.get("answer");
  const completion = `${PUBLIC_URL}/t/${TENANT}/idps/${IDP}/saml/complete`;
  if (`${url.origin}${url.pathname}` !== completion || answer === null) {
    throw new Error(`the ACS sent the browser to ${location}, not to the completion`);
  }
  return answer;
}
