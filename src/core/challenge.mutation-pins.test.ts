/**
 * The challenge options of an unmet requirement, pinned where a mutation survey found them
 * unpinned. Threat: a user guided to a path that can never satisfy the requirement (a TOTP code
 * where AAL3 or phishing resistance is required, a platform key where only the IdP's proof
 * counts), which either strands them or invites a weaker proof than the policy accepts.
 */
import { describe, expect, it } from "vitest";
import type { ChallengeOption } from "./decision.js";
import type { EnrolledAuthenticator } from "./evidence.js";
import type { EvaluationInput } from "./input.js";
import { REFEDS_MFA } from "./vocabulary.js";
import {
  decide,
  federated,
  mandate,
  password,
  policy,
  totp,
  webauthn,
} from "./test-support/fixtures.js";

const TOTP: EnrolledAuthenticator = { method: "totp", id: "phone" };
const KEY: EnrolledAuthenticator = {
  method: "webauthn",
  id: "key",
  userVerifying: true,
  backupEligible: false,
  attested: true,
};

/** The options for alice (direct, password just checked) with these enrolments. */
function options(
  authenticators: readonly EnrolledAuthenticator[],
  overrides: Partial<EvaluationInput> = {},
): readonly ChallengeOption[] {
  const d = decide({
    principal: { id: "alice", population: "direct", authenticators },
    evidence: { events: [password()] },
    ...overrides,
  });
  expect(d.outcome).toBe("challenge");
  return d.challenge;
}

const kinds = (list: readonly ChallengeOption[]): string[] =>
  list.map((o) => ("method" in o ? `${o.kind}:${o.method}` : o.kind));

describe("platform authenticators offered", () => {
  it("at AAL3, an enrolled TOTP is not offered: only the hardware key", () => {
    const list = options([TOTP, KEY], { mandates: [mandate("aal3", { minAal: 3 })] });
    expect(kinds(list)).toEqual(["verify:webauthn"]);
  });

  it("at AAL3, a synced passkey is not offered even when attested: a key that is is asked for", () => {
    const synced: EnrolledAuthenticator = { ...KEY, backupEligible: true };
    const list = options([synced], { mandates: [mandate("aal3", { minAal: 3 })] });
    expect(list).toEqual([
      { kind: "enroll", method: "webauthn", userVerification: "preferred", deviceBound: true },
    ]);
  });

  it("where user verification is required, a key that cannot verify the user is not offered", () => {
    const silent: EnrolledAuthenticator = { ...KEY, userVerifying: false };
    const list = options([silent], { policy: policy("phishing_resistant") });
    expect(list).toEqual([
      { kind: "enroll", method: "webauthn", userVerification: "required", deviceBound: false },
    ]);
  });

  it("a method the requirement does not accept is not offered, enrolled or to enrol", () => {
    const keysOnly = { mandates: [mandate("keys", { acceptedMethods: ["webauthn" as const] })] };
    expect(kinds(options([TOTP, KEY], keysOnly))).toEqual(["verify:webauthn"]);
    expect(kinds(options([TOTP], keysOnly))).toEqual(["enroll:webauthn"]);
    const otpOnly = { mandates: [mandate("otp", { acceptedMethods: ["totp" as const] })] };
    expect(kinds(options([TOTP, KEY], otpOnly))).toEqual(["verify:totp"]);
    expect(kinds(options([KEY], otpOnly))).toEqual(["enroll:totp"]);
  });

  it("where only the IdP's proof counts, no platform authenticator is offered", () => {
    const list = options([TOTP, KEY], {
      policy: policy("idp_or_platform"),
      mandates: [mandate("idp-only", { proofSource: "idp" })],
    });
    expect(kinds(list)).toEqual(["idp_step_up"]);
  });
});

describe("reauthentication", () => {
  // A key that verifies the user is multi-factor on its own: it needs no password first.
  it("is not asked before a key that verifies the user", () => {
    const list = options([KEY], { evidence: { events: [] } });
    expect(kinds(list)).toEqual(["verify:webauthn"]);
  });

  it("is asked before a second factor when no first factor is at hand", () => {
    const list = options([TOTP], { evidence: { events: [] } });
    expect(kinds(list)).toEqual(["reauthenticate", "verify:totp"]);
  });

  it("is not asked when the first factor is exactly as old as the reauthentication interval", () => {
    const list = options([TOTP], { evidence: { events: [password(24 * 3600)] } });
    expect(kinds(list)).toEqual(["verify:totp"]);
  });

  // Enrolling binds a new way to sign in: even a key that will verify the user is enrolled only
  // after a fresh first factor, since library callers follow the options without a hosted flow.
  it("is asked before enrolling, even a key that will verify the user", () => {
    const list = options([], { evidence: { events: [] } });
    expect(kinds(list)).toEqual(["reauthenticate", "enroll:webauthn", "enroll:totp"]);
    const keysOnly = options([], {
      evidence: { events: [] },
      policy: policy("phishing_resistant"),
    });
    expect(kinds(keysOnly)).toEqual(["reauthenticate", "enroll:webauthn"]);
  });

  it("is not asked before enrolling when the password was just checked", () => {
    expect(kinds(options([]))).toEqual(["enroll:webauthn", "enroll:totp"]);
  });

  // A key that verified the user is a sign-in on its own; a TOTP enrolled after it would still
  // need a first factor to pair with, so a TOTP alone is not freed by it.
  it("is not asked before enrolling a key after a key that verified the user", () => {
    const passkey = webauthn({ uv: true, be: true });
    const aal3 = { mandates: [mandate("aal3", { minAal: 3 })] };
    const list = options([], { ...aal3, evidence: { events: [passkey] } });
    expect(kinds(list)).toEqual(["enroll:webauthn"]);
    const otpOnly = { mandates: [mandate("otp", { acceptedMethods: ["totp" as const] })] };
    const silent = webauthn({ uv: false });
    expect(kinds(options([], { ...aal3, evidence: { events: [silent] } }))).toEqual([
      "reauthenticate",
      "enroll:webauthn",
    ]);
    expect(kinds(options([], { ...otpOnly, evidence: { events: [passkey] } }))).toEqual([
      "reauthenticate",
      "enroll:totp",
    ]);
  });

  it("is asked before enrolling when the password is older than the reauthentication interval", () => {
    const list = options([], { evidence: { events: [password(24 * 3600 + 1)] } });
    expect(kinds(list)).toEqual(["reauthenticate", "enroll:webauthn", "enroll:totp"]);
  });
});

describe("the step-up at the IdP", () => {
  it("is not offered when the requirement does not accept federated proof", () => {
    const list = options([TOTP], {
      policy: policy("idp_or_platform"),
      mandates: [mandate("local-methods", { acceptedMethods: ["totp", "webauthn"] })],
    });
    expect(kinds(list)).toEqual(["verify:totp"]);
  });

  it("is not offered when the requirement accepts proof from the platform only", () => {
    const list = options([TOTP], {
      policy: policy("mfa_optional"),
      mandates: [mandate("local-proof", { minAal: 2, proofSource: "platform" })],
    });
    expect(kinds(list)).toEqual(["verify:totp"]);
  });

  // The IdP is asked for an authentication no older than the requirement accepts: the shorter
  // of the maximum age and the reauthentication interval.
  it("asks for an authentication within the reauthentication interval when it is shorter", () => {
    const list = options([], {
      policy: policy("idp_mfa", { require: { maxAgeSeconds: 48 * 3600 } }),
      evidence: { events: [] },
    });
    expect(list).toEqual([
      {
        kind: "idp_step_up",
        acrValues: [REFEDS_MFA],
        authnContextClassRefs: [REFEDS_MFA],
        maxAgeSeconds: 24 * 3600,
        forceAuthn: false,
        phishingResistant: false,
      },
    ]);
  });

  // REFEDS step-up model: the IdP already answered without MFA; asking again without forcing a
  // fresh authentication would return the same single-factor session.
  it("forces a fresh authentication when the IdP already answered, even recently", () => {
    const list = options([], {
      policy: policy("idp_mfa"),
      principal: { id: "alice", population: "sso" },
      evidence: { events: [federated({ aal: 1 }), totp()] },
    });
    expect(list).toMatchObject([{ kind: "idp_step_up", forceAuthn: true }]);
  });

  it("forces a fresh authentication when the nearest miss was only a matter of time", () => {
    const list = options([], {
      policy: policy("idp_or_platform"),
      evidence: { events: [password(25 * 3600), totp(25 * 3600)] },
    });
    expect(list.find((o) => o.kind === "idp_step_up")).toMatchObject({ forceAuthn: true });
  });

  it("asks a registered IdP for its phishing-resistant values when phishing resistance is required", () => {
    const list = options([], {
      policy: policy("idp_mfa", { require: { phishingResistant: true } }),
      idps: [{ id: "okta", mfaRequestValues: ["mfa"], phishingResistantRequestValues: ["phr"] }],
    });
    expect(list).toMatchObject([
      { kind: "idp_step_up", idp: "okta", acrValues: ["phr"], phishingResistant: true },
    ]);
  });
});
