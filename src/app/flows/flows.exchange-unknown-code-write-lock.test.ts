// Threat: an API key guessing flow codes stalls every writer. Auditing a code that names no
// flow is bounded to a row a minute per key and reason, but each guess still ran a write
// transaction to find out whether the minute had lapsed: on SQLite, the store's one write lock,
// taken once per guess, queued every sign-in, decision and administrator's change behind a key's
// guesses. A guess now reads first, and writes only when the minute has lapsed.
import { afterEach, expect, it } from "vitest";
import { openStore } from "../../storage/open-store.js";
import type { Caller } from "../application.js";
import type { AuditEvent } from "../records.js";
import { auditEventsOf } from "../test-support/audit-events.js";
import { describeOnEachStore } from "../test-support/each-store.js";
import type { Harness } from "../test-support/harness.js";
import { openPlatformMfaTenant } from "../test-support/platform-mfa-flows.js";
import { refusalCode } from "../test-support/refusal-code.js";
import { countingTransactions } from "../test-support/wrapped-store.js";
import { REFUSAL_AUDIT_INTERVAL_SECONDS } from "./flow-records.js";

const RETURN = "https://app.acme.example/signed-in";
const GUESSES = 40;

describeOnEachStore("a code exchange naming no flow, and the store's write lock", (url) => {
  let h: Harness;
  let service: Caller;
  let transactions: () => number;
  afterEach(() => h.close());

  async function open(): Promise<void> {
    const counted = countingTransactions(await openStore(await url()));
    transactions = counted.count;
    ({ h, service } = await openPlatformMfaTenant(RETURN, { store: counted.store }));
  }

  let guessed = 0;
  const guess = () => `guessed-code-${String(guessed++).padStart(8, "0")}-abcdefghijkl`;
  /** Exchanges `codes` one after another as `caller`; the transactions they opened. */
  async function exchangeAll(caller: Caller, codes: () => string): Promise<number> {
    const before = transactions();
    for (let i = 0; i < GUESSES; i++) {
      expect(await refusalCode(h.app.flows.exchange(caller, { code: codes() }))).toBe(
        "flow.code_invalid",
      );
    }
    return transactions() - before;
  }
  const refusals = () =>
    auditEventsOf(h, null, (event: AuditEvent) =>
      event.type === "flow.exchange_refused" ? String(event.payload["reason"]) : undefined,
    );

  it("writes once for a minute of unknown codes by one key, and once again when it lapsed", async () => {
    await open();
    expect(await exchangeAll(service, guess)).toBe(1);
    h.clock.advance(REFUSAL_AUDIT_INTERVAL_SECONDS - 1);
    expect(await exchangeAll(service, guess)).toBe(0);
    h.clock.advance(1);
    expect(await exchangeAll(service, guess)).toBe(1);
    expect(await refusals()).toEqual(["unknown_code", "unknown_code"]);
  });

  it("writes once for a minute of malformed codes by one key", async () => {
    await open();
    expect(await exchangeAll(service, () => "short")).toBe(1);
    expect(await refusals()).toEqual(["malformed_code"]);
  });

  it("still writes the first guess of another key within the same minute", async () => {
    await open();
    const other = await h.caller(["platform_service"], ["acme"]);
    expect(await exchangeAll(service, guess)).toBe(1);
    expect(await exchangeAll(other, guess)).toBe(1);
    expect(await refusals()).toEqual(["unknown_code", "unknown_code"]);
  });
});
