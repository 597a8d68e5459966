// Threat: a caller hammering the code exchange with a used code, or with a code another client's
// key holds, floods the tenant's audit chain, a `flow.exchange_refused` row per request for the
// flow's whole life, bounded only by the per-key rate limit, which many keys (or many instances)
// together escape. As with a flow page's refused visits, the first refusal of each reason by each
// key stays recorded, as the evidence of an attack, and one a minute while they go on: no more.
import { afterEach, expect, it } from "vitest";
import type { Caller, FlowBrowser } from "../application.js";
import type { AuditEvent } from "../records.js";
import { AppError } from "../errors.js";
import { auditEventsOf, exchangeEventName } from "../test-support/audit-events.js";
import { describeOnEachStore } from "../test-support/each-store.js";
import type { Harness } from "../test-support/harness.js";
import { completedTotpFlow, openPlatformMfaTenant } from "../test-support/platform-mfa-flows.js";
import { enrolTotp, type EnrolledTotp } from "../test-support/totp-principals.js";
import { REFUSAL_AUDIT_INTERVAL_SECONDS } from "./flow-records.js";

const RETURN = "https://app.acme.example/signed-in";
const REFUSALS = 40;

describeOnEachStore("a flow code's refused exchanges in the audit chain", (url) => {
  let h: Harness;
  let service: Caller;
  let totp: EnrolledTotp;
  const browser: FlowBrowser = { cookie: "the-users-browser-cookie-0123456789" };

  async function open(): Promise<void> {
    ({ h, service } = await openPlatformMfaTenant(RETURN, { url: await url() }));
    totp = await enrolTotp(h, service, "acme", "alice");
    h.clock.advance(30);
  }
  afterEach(() => h.close());

  /** Walks a new flow of alice's with TOTP to its code. */
  const completedCode = async () =>
    (await completedTotpFlow(h, service, { browser, returnTo: RETURN, totp })).code;

  /** The refusal code of an exchange that must be refused. */
  async function refusedExchange(caller: Caller, code: string): Promise<string> {
    try {
      await h.app.flows.exchange(caller, { code });
    } catch (error) {
      if (error instanceof AppError) return error.code;
      throw error;
    }
    throw new Error("the exchange was not refused");
  }

  const exchangeEvents = () => auditEventsOf(h, "acme", exchangeEventName);
  const count = async (name: string) => (await exchangeEvents()).filter((e) => e === name).length;

  it("records the first replay of a spent code, then one a minute while they go on", async () => {
    await open();
    const code = await completedCode();
    await h.app.flows.exchange(service, { code });
    for (let i = 0; i < REFUSALS; i++) {
      expect(await refusedExchange(service, code)).toBe("flow.code_invalid");
    }
    expect(await count("flow.exchange_refused:replayed")).toBe(1);

    h.clock.advance(REFUSAL_AUDIT_INTERVAL_SECONDS - 1);
    await refusedExchange(service, code);
    expect(await count("flow.exchange_refused:replayed")).toBe(1);
    h.clock.advance(1);
    await refusedExchange(service, code);
    await refusedExchange(service, code);
    expect(await count("flow.exchange_refused:replayed")).toBe(2);
  });

  it("records the first of each reason: another client's flood hides neither the exchange nor a replay", async () => {
    await open();
    const thief = await h.caller(["platform_service"], ["acme"]);
    const code = await completedCode();
    for (let i = 0; i < REFUSALS; i++) {
      expect(await refusedExchange(thief, code)).toBe("flow.code_invalid");
    }
    // Refused, the code is not spent: the creating key still exchanges it.
    await expect(h.app.flows.exchange(service, { code })).resolves.toMatchObject({
      principal: "alice",
    });
    for (let i = 0; i < REFUSALS; i++) await refusedExchange(service, code);
    expect(await exchangeEvents()).toEqual([
      "flow.exchange_refused:another_client",
      "flow.exchanged",
      "flow.exchange_refused:replayed",
    ]);
  });

  it("names every key that tries another client's code, each once a minute", async () => {
    await open();
    const first = await h.caller(["platform_service"], ["acme"]);
    const second = await h.caller(["platform_service"], ["acme"]);
    const code = await completedCode();
    for (const thief of [first, first, second, second]) await refusedExchange(thief, code);
    const callers = (caller: (event: AuditEvent) => unknown) =>
      auditEventsOf(h, "acme", (event) =>
        event.type === "flow.exchange_refused" ? String(caller(event)) : undefined,
      );
    // The second key, within the first's minute, is named too: the chain is where a tenant
    // learns which keys held its code, and the request log does not name the caller.
    expect(await callers((event) => event.payload["caller"])).toEqual([first.id, second.id]);
  });

  it("records one of many replays at once", async () => {
    await open();
    const code = await completedCode();
    await h.app.flows.exchange(service, { code });
    const refused = await Promise.all(
      Array.from({ length: 20 }, () => refusedExchange(service, code)),
    );
    expect(new Set(refused)).toEqual(new Set(["flow.code_invalid"]));
    expect(await count("flow.exchange_refused:replayed")).toBe(1);
  });
});
