// Threat: an API key guessing flow codes. A code that matches no flow at all was refused without
// a trace: no flow, so no tenant chain to record it in, and the request log does not name the
// caller. A key could guess for as long as its rate limit allowed and nobody would learn which
// key it was. Such a refusal is now recorded in the platform's chain (no tenant: the code names
// none), with the key and the reason, bounded as a flow's refused exchanges are (the first of
// each reason by each key, then one a minute while they go on), and never with the guessed code,
// nor its hash, nor any part of it: a guess is not evidence worth keeping and could be live.
import { createHash } from "node:crypto";
import { afterEach, expect, it } from "vitest";
import type { Caller } from "../application.js";
import type { AuditEvent } from "../records.js";
import { auditEventsOf } from "../test-support/audit-events.js";
import { describeOnEachStore } from "../test-support/each-store.js";
import type { Harness } from "../test-support/harness.js";
import { completedTotpFlow, openPlatformMfaTenant } from "../test-support/platform-mfa-flows.js";
import { refusalCode } from "../test-support/refusal-code.js";
import { enrolTotp } from "../test-support/totp-principals.js";
import { REFUSAL_AUDIT_INTERVAL_SECONDS } from "./flow-records.js";

const RETURN = "https://app.acme.example/signed-in";
const GUESSES = 40;

describeOnEachStore("a code exchange naming no flow in the audit chain", (url) => {
  let h: Harness;
  let service: Caller;
  afterEach(() => h.close());

  async function open(): Promise<void> {
    ({ h, service } = await openPlatformMfaTenant(RETURN, { url: await url() }));
  }

  let guessed = 0;
  /** A code of the right shape that no flow holds, each time another. */
  const guess = () => `guessed-code-${String(guessed++).padStart(8, "0")}-abcdefghijkl`;
  const exchange = (caller: Caller, code: string) =>
    refusalCode(h.app.flows.exchange(caller, { code }));

  /** The platform chain's refused exchanges, as `reason:caller`. */
  const refusals = () =>
    auditEventsOf(h, null, (event: AuditEvent) =>
      event.type === "flow.exchange_refused"
        ? `${String(event.payload["reason"])}:${String(event.payload["caller"])}`
        : undefined,
    );

  it("records the first unknown code a key tries, then one a minute while it goes on guessing", async () => {
    await open();
    for (let i = 0; i < GUESSES; i++)
      expect(await exchange(service, guess())).toBe("flow.code_invalid");
    expect(await refusals()).toEqual([`unknown_code:${service.id}`]);

    h.clock.advance(REFUSAL_AUDIT_INTERVAL_SECONDS - 1);
    for (let i = 0; i < GUESSES; i++) await exchange(service, guess());
    expect(await refusals()).toHaveLength(1);
    h.clock.advance(1);
    for (let i = 0; i < GUESSES; i++) await exchange(service, guess());
    expect(await refusals()).toEqual([`unknown_code:${service.id}`, `unknown_code:${service.id}`]);
  });

  it("names every key that guesses, each in its own row within the same minute", async () => {
    await open();
    const other = await h.caller(["platform_service"], ["acme"]);
    for (let i = 0; i < GUESSES; i++) await exchange(service, guess());
    for (let i = 0; i < GUESSES; i++) await exchange(other, guess());
    expect(await refusals()).toEqual([`unknown_code:${service.id}`, `unknown_code:${other.id}`]);
  });

  it("records one of many guesses at once", async () => {
    await open();
    const refused = await Promise.all(Array.from({ length: 20 }, () => exchange(service, guess())));
    expect(new Set(refused)).toEqual(new Set(["flow.code_invalid"]));
    expect(await refusals()).toHaveLength(1);
  });

  it("records a code of no valid shape as malformed, bounded apart from unknown ones", async () => {
    await open();
    for (const code of ["", "short", "x".repeat(201)]) {
      expect(await exchange(service, code)).toBe("flow.code_invalid");
    }
    await exchange(service, guess());
    expect(await refusals()).toEqual([
      `malformed_code:${service.id}`,
      `unknown_code:${service.id}`,
    ]);
  });

  it("keeps neither the guessed code nor its hash in any chain, and leaves the tenant's alone", async () => {
    await open();
    const totp = await enrolTotp(h, service, "acme", "alice");
    h.clock.advance(30);
    const tenantBefore = await auditEventsOf(h, "acme", (event) => event.id);
    const code = guess();
    expect(await exchange(service, code)).toBe("flow.code_invalid");
    const platform = await h.store.read(({ audit }) =>
      audit.read("platform", { afterSeq: 0, limit: 500 }),
    );
    const written = JSON.stringify(platform);
    const hash = createHash("sha256").update(code).digest("hex");
    expect(written).not.toContain(code);
    expect(written).not.toContain(hash);
    expect(written).not.toContain(code.slice(0, 16));
    const [event] = platform.filter((e) => e.type === "flow.exchange_refused");
    expect(event).toMatchObject({
      tenant: null,
      actor: service.id,
      payload: { reason: "unknown_code", caller: service.id },
    });
    expect(Object.keys(event?.payload ?? {}).sort()).toEqual(["caller", "reason"]);
    expect(await auditEventsOf(h, "acme", (e) => e.id)).toEqual(tenantBefore);
    // A live code is unaffected: the bound is the unknown codes', not the key's.
    const { code: live } = await completedTotpFlow(h, service, {
      browser: { cookie: "the-users-browser-cookie-0123456789" },
      returnTo: RETURN,
      totp,
    });
    await expect(h.app.flows.exchange(service, { code: live })).resolves.toMatchObject({
      principal: "alice",
    });
  });
});
