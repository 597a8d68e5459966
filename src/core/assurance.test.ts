import { describe, expect, it } from "vitest";
import type { Assurance } from "./assurance.js";
import { addPairs, singleAssurance } from "./satisfaction.js";
import { NOW, federated, password, recoveryCode, totp, webauthn } from "./test-support/fixtures.js";
import type { AuthenticationEvent } from "./evidence.js";

/** Every assurance the events offer: each on its own, then the pairs. */
function assurancesOf(events: AuthenticationEvent[]): Assurance[] {
  const assurances = events.map((event) => singleAssurance(event, Date.parse(event.at), undefined));
  addPairs(assurances);
  return assurances;
}

/** The strongest assurance the events reach: highest AAL, then phishing resistance. */
function strongest(events: AuthenticationEvent[]): { aal: number; phishingResistant: boolean } {
  const all = assurancesOf(events);
  let best = { aal: 0, phishingResistant: false };
  for (const a of all) {
    if (
      a.aal > best.aal ||
      (a.aal === best.aal && a.phishingResistant && !best.phishingResistant)
    ) {
      best = { aal: a.aal, phishingResistant: a.phishingResistant };
    }
  }
  return best;
}

// NIST SP 800-63B-4 §2: which combinations reach which AAL, and which are phishing-resistant.
describe("assurance classification (NIST SP 800-63B-4)", () => {
  const table: [string, AuthenticationEvent[], number, boolean][] = [
    ["a password alone is AAL1", [password()], 1, false],
    ["a TOTP code alone is AAL1 (single-factor OTP)", [totp()], 1, false],
    ["a recovery code alone is AAL1 (look-up secret)", [recoveryCode()], 1, false],
    ["password + TOTP is AAL2", [password(), totp()], 2, false],
    ["password + recovery code is AAL2 (look-up secret)", [password(), recoveryCode()], 2, false],
    [
      "TOTP + recovery code is AAL1: both are something you have",
      [totp(), recoveryCode()],
      1,
      false,
    ],
    [
      "WebAuthn with UV, device-bound, attested hardware, is AAL3 and phishing-resistant",
      [webauthn({ uv: true, be: false, attested: true })],
      3,
      true,
    ],
    [
      "WebAuthn with UV, device-bound but not attested, is AAL2: nothing proves hardware",
      [webauthn({ uv: true, be: false })],
      2,
      true,
    ],
    [
      "WebAuthn with UV, device-bound, attestation not trusted (false), is AAL2",
      [webauthn({ uv: true, be: false, attested: false })],
      2,
      true,
    ],
    [
      "WebAuthn with UV, attested but synced (BE=1), is AAL2: the key leaves the device",
      [webauthn({ uv: true, be: true, attested: true })],
      2,
      true,
    ],
    ["WebAuthn with UV, synced passkey, is AAL2 only", [webauthn({ uv: true, be: true })], 2, true],
    [
      "WebAuthn without UV alone is one factor: AAL1",
      [webauthn({ uv: false, be: false })],
      1,
      true,
    ],
    [
      "password + attested device-bound WebAuthn without UV is AAL3",
      [password(), webauthn({ uv: false, be: false, attested: true })],
      3,
      true,
    ],
    [
      "password + device-bound WebAuthn without UV, not attested, is AAL2",
      [password(), webauthn({ uv: false, be: false })],
      2,
      true,
    ],
    [
      "password + synced WebAuthn without UV is AAL2",
      [password(), webauthn({ uv: false, be: true })],
      2,
      true,
    ],
    [
      "TOTP + WebAuthn without UV is AAL1: no knowledge factor",
      [totp(), webauthn({ uv: false })],
      1,
      true,
    ],
    [
      "federated evidence proves what the IdP mapping granted: AAL2",
      [federated({ aal: 2 })],
      2,
      false,
    ],
    ["federated evidence with phishing resistance", [federated({ aal: 3, pr: true })], 3, true],
    [
      "an IdP single-factor sign-in + platform TOTP is AAL2",
      [federated({ aal: 1 }), totp()],
      2,
      false,
    ],
    ["an IdP that states nothing proves nothing", [federated({ aal: 0 })], 0, false],
    ["two passwords are still AAL1", [password(), password(10)], 1, false],
  ];
  it.each(table)("%s", (_name, events, aal, phishingResistant) => {
    expect(strongest(events)).toEqual({ aal, phishingResistant });
  });

  const pairOf = (events: AuthenticationEvent[]) =>
    assurancesOf(events).find((a) => a.firstFactor !== undefined);

  it("starts a pair at its earliest step", () => {
    expect(pairOf([password(600), totp(30)])?.startedAt).toBe(NOW.getTime() - 600_000);
  });

  it("dates a pair's proof by its second factor: a fresh password does not refresh an old TOTP", () => {
    expect(pairOf([password(600), totp(30)])?.provenAt).toBe(NOW.getTime() - 30_000);
    expect(pairOf([totp(600), password(30)])?.provenAt).toBe(NOW.getTime() - 600_000);
  });
});
