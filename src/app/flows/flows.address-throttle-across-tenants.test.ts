// Threat: guessing through hosted flows spread over tenants. A hosted flow verifies a code as a
// caller of its own tenant, and an address reported by a caller of some tenants only counts in
// the attempt's tenant (a tenant's backend could otherwise report failures "from" another
// tenant's office and throttle it: throttle.address-scope.test.ts). But a flow reports no address
// of its own choosing: the address is the server's own observation of the browser (`request.ip`,
// behind the configured trusted proxies). Counted per tenant, one address guessing through the
// flows of N tenants got the client limit's free failures N times. The address a flow observed
// counts platform-wide, as an all-tenant key's does; an address on an internal network (a proxy
// missing from the trusted ones would be every client's address) stays in the flow's tenant, so
// that such a misconfiguration cannot let one tenant's guesses throttle every tenant's users.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Caller, FlowBrowser } from "../application.js";
import { VERIFICATION_THROTTLE_DEFAULTS } from "../authenticators/verification-throttle.js";
import { openingOf } from "../test-support/flow-opening.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import { replacePolicy } from "../test-support/replace-policy.js";
import {
  enrolTotp,
  rightCode,
  wrongCode,
  type EnrolledTotp,
} from "../test-support/totp-principals.js";
import type { FlowScreen } from "./flow-screens.js";

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const RETURN = "https://app.example/signed-in";
const { client: CLIENT, principal: PRINCIPAL } = VERIFICATION_THROTTLE_DEFAULTS;
const TENANTS = ["acme", "globex"] as const;
const GUESSES = CLIENT.freeFailures + 1;

const csrfOf = (screen: FlowScreen) => ("frame" in screen ? screen.frame.csrfToken : "");
/** What a verification through a flow ended with: `accepted`, or the notice it showed. */
const outcomeOf = (screen: FlowScreen) =>
  screen.kind === "redirect"
    ? "accepted"
    : "notice" in screen && screen.notice !== undefined
      ? screen.notice.code
      : screen.kind;

describe("guesses through hosted flows of several tenants from one address", () => {
  let h: Harness;
  let service: Caller;
  /** Per tenant: principals that take the guesses, and one that signs in at the end. */
  let guessed: Record<string, EnrolledTotp[]>;
  let fresh: Record<string, EnrolledTotp>;

  beforeEach(async () => {
    h = await openHarness();
    service = await h.caller(["platform_service"], "all");
    guessed = {};
    fresh = {};
    for (const tenant of TENANTS) {
      await h.app.tenants.create(h.admin, { id: tenant, name: tenant, returnUrls: [RETURN] });
      await replacePolicy(h, tenant, { posture: "platform_mfa" });
      // Enough principals that none of them reaches its own limit: only the address's counts.
      const count = Math.ceil(GUESSES / TENANTS.length / PRINCIPAL.freeFailures);
      guessed[tenant] = [];
      for (let n = 0; n < count; n += 1) {
        guessed[tenant].push(await enrolTotp(h, service, tenant, `user-${String(n)}`));
      }
      fresh[tenant] = await enrolTotp(h, service, tenant, "fresh");
    }
    h.clock.advance(60);
  });
  afterEach(() => h.close());

  /** Verifies `code` for `totp` through a new hosted flow in a browser at `clientAddress`. */
  async function throughFlow(totp: EnrolledTotp, code: string, clientAddress: string) {
    const started = await h.app.flows.create(service, totp.tenant, {
      principal: { id: totp.principal },
      verified: [{ method: "password", source: "platform", at: h.clock.now().toISOString() }],
      returnTo: RETURN,
    });
    const { flow } = started;
    const browser: FlowBrowser = { cookie: `browser-of-${flow}-0123456789abcdef`, clientAddress };
    const challenge = await h.app.flows.show(totp.tenant, flow, browser, {
      opening: openingOf(started),
    });
    return outcomeOf(
      await h.app.flows.act(totp.tenant, flow, browser, {
        kind: "verify_totp",
        csrf: csrfOf(challenge),
        authenticator: totp.id,
        code,
      }),
    );
  }

  /**
   * One more than the client limit's free failures from `address` (the last one starts its
   * wait), half through each tenant's flows.
   */
  async function guessFrom(address: string): Promise<string[]> {
    const outcomes: string[] = [];
    for (let k = 0; k < GUESSES; k += 1) {
      const tenant = TENANTS[k % TENANTS.length] as string;
      const victims = guessed[tenant] as EnrolledTotp[];
      const victim = victims[Math.floor(k / TENANTS.length) % victims.length] as EnrolledTotp;
      outcomes.push(await throughFlow(victim, wrongCode(h, victim), address));
    }
    return outcomes;
  }

  it("adds them up to the address's limit, whichever tenant's flow they came through", async () => {
    const attacker = "198.51.100.7";
    expect(await guessFrom(attacker)).toEqual(Array<string>(GUESSES).fill("totp.invalid_code"));
    // Past the free failures counted across both tenants: held back, even with the right code.
    for (const tenant of TENANTS) {
      const who = fresh[tenant] as EnrolledTotp;
      expect(await throughFlow(who, rightCode(h, who), attacker)).toBe("verification.throttled");
    }
    // Another address is not held back.
    const who = fresh.globex as EnrolledTotp;
    expect(await throughFlow(who, rightCode(h, who), "203.0.113.9")).toBe("accepted");
  });

  it("keeps counting an internal address (a proxy's, perhaps every client's) in each flow's tenant", async () => {
    const proxy = "10.0.0.5";
    expect(await guessFrom(proxy)).toEqual(Array<string>(GUESSES).fill("totp.invalid_code"));
    const who = fresh.globex as EnrolledTotp;
    expect(await throughFlow(who, rightCode(h, who), proxy)).toBe("accepted");
  });
});
