// Threat: a flow page that offers a way in it must not: enrolling a new authenticator on the
// strength of a password alone when the principal already has one (account takeover by whoever
// phished the password), verifying a method the principal does not have, or an IdP that is not
// the tenant's. Properties over every challenge the engine could return.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ChallengeOption } from "../../core/decision.js";
import type { AuthenticationEvent } from "../../core/evidence.js";
import { flowOptions, mayBeginEnrolment, mayEnrol, type FlowMethods } from "./flow-options.js";

const AT = "2026-12-05T08:00:00.000Z";
const uv = fc.constantFrom("required" as const, "preferred" as const);
const challengeOption: fc.Arbitrary<ChallengeOption> = fc.oneof(
  fc.constant({ kind: "reauthenticate" as const }),
  fc.record({
    kind: fc.constant("verify" as const),
    method: fc.constantFrom("totp" as const, "webauthn" as const, "recovery_code" as const),
    userVerification: uv,
  }),
  fc.record({
    kind: fc.constant("enroll" as const),
    method: fc.constantFrom("totp" as const, "webauthn" as const),
    userVerification: uv,
    deviceBound: fc.boolean(),
  }),
  fc.record(
    {
      kind: fc.constant("idp_step_up" as const),
      idp: fc.constantFrom("corp", "other", "partner"),
      acrValues: fc.constant([]),
      authnContextClassRefs: fc.constant([]),
      maxAgeSeconds: fc.constant(null),
      forceAuthn: fc.boolean(),
      phishingResistant: fc.boolean(),
    },
    {
      requiredKeys: [
        "kind",
        "acrValues",
        "authnContextClassRefs",
        "maxAgeSeconds",
        "forceAuthn",
        "phishingResistant",
      ],
    },
  ),
);
const methods: fc.Arbitrary<FlowMethods> = fc
  .record({
    totp: fc.array(fc.record({ id: fc.constantFrom("a1", "a2"), name: fc.constant("phone") }), {
      maxLength: 2,
    }),
    webauthn: fc.nat({ max: 2 }),
    recoveryCodes: fc.nat({ max: 10 }),
    // A set whose codes cannot be entered now is held all the same while locked.
    lockedSet: fc.boolean(),
    idps: fc.subarray([
      { id: "corp", name: "Corp" },
      { id: "partner", name: "Partner" },
    ]),
  })
  .map(({ lockedSet, ...m }) => ({
    ...m,
    recoveryCodes: lockedSet ? 0 : m.recoveryCodes,
    recoveryCodeSet: m.recoveryCodes > 0,
  }));
const event = (method: AuthenticationEvent["method"]): AuthenticationEvent =>
  method === "webauthn"
    ? { method, source: "platform", at: AT, userVerified: true, backupEligible: false }
    : method === "federated"
      ? {
          method,
          source: "idp",
          at: AT,
          tenant: "acme",
          idp: "corp",
          assurance: { aal: 2, phishingResistant: false },
        }
      : { method, source: "platform", at: AT };
const events = fc.array(
  fc
    .constantFrom("password", "totp", "webauthn", "recovery_code", "federated")
    .map((m) => event(m)),
  { maxLength: 3 },
);

describe("the options a flow page offers", () => {
  it("never lets a principal with an authenticator or recovery codes enrol another before verifying in the flow", () => {
    fc.assert(
      fc.property(methods, events, (m, firstFactor) => {
        if (m.totp.length + m.webauthn === 0 && !m.recoveryCodeSet) return;
        const passwordOnly = firstFactor.filter((e) => e.method === "password");
        expect(mayEnrol(m, { firstFactor: passwordOnly, verified: [] })).toBe(false);
        expect(mayEnrol(m, { firstFactor: passwordOnly, verified: passwordOnly })).toBe(false);
      }),
    );
  });

  it("begins no enrolment on a verification in the flow older than the fresh-MFA window", () => {
    fc.assert(
      fc.property(methods, events, events, (m, firstFactor, verified) => {
        const at = Date.parse(AT);
        // Verified at AT: fresh from then on, stale a millisecond later.
        expect(mayBeginEnrolment(m, { firstFactor, verified }, at)).toBe(
          mayEnrol(m, { firstFactor, verified }),
        );
        const withoutProofs = verified.filter(
          (e) => e.method !== "totp" && e.method !== "webauthn" && e.method !== "recovery_code",
        );
        expect(mayBeginEnrolment(m, { firstFactor, verified }, at + 1)).toBe(
          mayEnrol(m, { firstFactor, verified: withoutProofs }),
        );
      }),
    );
  });

  it("never lets a principal with an authenticator enrol another on a sign-in at the IdP", () => {
    const federated = (aal: 0 | 1 | 2 | 3): AuthenticationEvent => ({
      method: "federated",
      source: "idp",
      at: AT,
      tenant: "acme",
      idp: "corp",
      assurance: { aal, phishingResistant: false },
    });
    fc.assert(
      fc.property(
        methods,
        fc.array(fc.constantFrom<0 | 1>(0, 1), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        (m, levels, withPassword) => {
          if (m.totp.length + m.webauthn === 0 && !m.recoveryCodeSet) return;
          const firstFactor = withPassword ? [event("password")] : [];
          const atIdp = levels.map(federated);
          expect(mayEnrol(m, { firstFactor, verified: atIdp })).toBe(false);
          // Nor does MFA at the IdP: it proves none of the principal's own authenticators.
          expect(mayEnrol(m, { firstFactor, verified: [...atIdp, federated(2)] })).toBe(false);
          // Verifying one of them opens it.
          expect(mayEnrol(m, { firstFactor, verified: [...atIdp, event("totp")] })).toBe(true);
        },
      ),
    );
  });

  it("offers an enrolment only when enrolment is allowed", () => {
    fc.assert(
      fc.property(fc.array(challengeOption, { maxLength: 6 }), methods, (challenge, m) => {
        const offered = flowOptions(challenge, m, false, "https://back");
        expect(offered.some((o) => o.kind.startsWith("enroll"))).toBe(false);
      }),
    );
  });

  it("offers to verify only what the principal holds, and IdPs only of the tenant", () => {
    fc.assert(
      fc.property(
        fc.array(challengeOption, { maxLength: 6 }),
        methods,
        fc.boolean(),
        (challenge, m, allowed) => {
          for (const option of flowOptions(challenge, m, allowed, "https://back")) {
            if (option.kind === "verify_totp") expect(m.totp.length).toBeGreaterThan(0);
            if (option.kind === "verify_webauthn") expect(m.webauthn).toBeGreaterThan(0);
            if (option.kind === "verify_recovery_code") expect(m.recoveryCodes).toBeGreaterThan(0);
            if (option.kind === "idp") expect(m.idps.map((i) => i.id)).toContain(option.idp);
          }
        },
      ),
    );
  });

  it("offers each way once, in the engine's order", () => {
    fc.assert(
      fc.property(fc.array(challengeOption, { maxLength: 8 }), methods, fc.boolean(), (c, m, a) => {
        const keys = flowOptions(c, m, a, "https://back").map((o) =>
          o.kind === "idp" ? `idp:${o.idp}` : o.kind,
        );
        expect(new Set(keys).size).toBe(keys.length);
      }),
    );
  });

  it("lets a principal without authenticators enrol its first on a first factor or an IdP sign-in", () => {
    const none: FlowMethods = {
      totp: [],
      webauthn: 0,
      recoveryCodes: 0,
      recoveryCodeSet: false,
      idps: [],
    };
    expect(mayEnrol(none, { firstFactor: [], verified: [] })).toBe(false);
    expect(mayEnrol(none, { firstFactor: [event("password")], verified: [] })).toBe(true);
    expect(mayEnrol(none, { firstFactor: [], verified: [event("federated")] })).toBe(true);
    // An IdP answer that proved nothing the mapping recognises (AAL 0) is no sign-in.
    const unrecognised: AuthenticationEvent = {
      method: "federated",
      source: "idp",
      at: AT,
      tenant: "acme",
      idp: "corp",
      assurance: { aal: 0, phishingResistant: false },
    };
    expect(mayEnrol(none, { firstFactor: [], verified: [unrecognised] })).toBe(false);
  });
});
