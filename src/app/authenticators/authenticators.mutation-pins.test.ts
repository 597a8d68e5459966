/**
 * The platform authenticators' checks, pinned where a mutation survey of src/app/authenticators
 * found them unpinned: each check below could be deleted or inverted with every earlier test
 * still passing.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { oathtoolCode } from "../../verifiers/totp/test-support/oathtool.js";
import { openStore } from "../../storage/open-store.js";
import type { Caller } from "../application.js";
import type { Repositories } from "../ports.js";
import { openEveryMethod, type EveryMethod } from "../test-support/every-method.js";
import { provedMfaJustNow } from "../test-support/fresh-mfa.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import { outcomeOf } from "../test-support/totp-principals.js";
import { wrapRepositories } from "../test-support/wrapped-store.js";

/** The default `totp.enrolmentTtlSeconds`. */
const TTL = 600;

describe("a TOTP confirmation whose enrolment expires while it waits for the principal's row", () => {
  let h: Harness;
  let service: Caller;
  /** Run once, by the next claim of a throttle row: time passing while the attempt queues. */
  let onClaim: (() => void) | undefined;

  beforeEach(async () => {
    const store = wrapRepositories(await openStore("sqlite::memory:"), (r): Repositories => ({
      ...r,
      verificationThrottles: {
        ...r.verificationThrottles,
        claim: (tenant, key) => {
          const run = onClaim;
          onClaim = undefined;
          run?.();
          return r.verificationThrottles.claim(tenant, key);
        },
      },
    }));
    h = await openHarness({ store });
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
    await h.app.principals.upsert(h.admin, "acme", "alice", { population: "direct" });
    service = await h.caller(["platform_service"], ["acme"]);
  });
  afterEach(() => h.close());

  it("is refused as expired, and the enrolment removed, though it was not expired when first read", async () => {
    const begun = await h.app.authenticators.beginTotp(service, "acme", "alice", {});
    const { id } = begun.authenticator;
    // Read before the transaction (not expired yet), then queued: it expires meanwhile. The code
    // is the right one for the instant it is checked at.
    h.clock.advance(TTL - 1);
    const later = new Date(h.clock.now().getTime() + 2000);
    onClaim = () => {
      h.clock.advance(2);
    };
    const outcome = await outcomeOf(
      h.app.authenticators.confirmTotp(service, "acme", "alice", id, {
        code: oathtoolCode(begun.secret, later),
      }),
    );
    expect(outcome.code).toBe("authenticator.enrolment_expired");
    expect(await h.app.authenticators.list(service, "acme", "alice")).toEqual([]);
    const types = (await h.app.audit.list(h.admin, "acme", {}, { limit: 50 })).items.map(
      (e) => e.type,
    );
    expect(types).toContain("authenticator.enrolment_expired");
    expect(types).not.toContain("authenticator.confirmed");
  });
});

describe("removing a WebAuthn credential", () => {
  let m: EveryMethod;
  beforeEach(async () => {
    m = await openEveryMethod();
  });
  afterEach(() => m.close());

  it("is refused to a key of another tenant and to one without the right, the credential kept", async () => {
    const { h } = m.w;
    const callers = [
      await h.caller(["platform_service"], ["globex"]),
      await h.caller(["tenant_auditor"], ["acme"]),
    ];
    for (const caller of callers) {
      // A fresh MFA of alice's is no licence for a caller who may not remove her methods.
      await provedMfaJustNow(h, "acme", "alice");
      const outcome = await outcomeOf(
        h.app.authenticators.remove(caller, "acme", "alice", m.credential.id),
      );
      // Another tenant's key finds no such tenant; one without the right is forbidden.
      expect(["not_found", "auth.forbidden"]).toContain(outcome.code);
    }
    const left = await h.store.read((r) => r.webauthnCredentials.list("acme", "alice"));
    expect(left.map((c) => c.id)).toEqual([m.credential.id]);
  });
});
