/**
 * Threat: an IdP account whose name looks like another's signs in as a principal that looks like
 * that other one (DESIGN invariant 9). A verified subject becomes the principal id of its decision,
 * yet it was never held to the principal-id rules that the API applies: an IdP whose users choose
 * their names (a username, an editable address) could sign in "alice" followed by a zero-width
 * space, a byte order mark, a variation selector, a Hangul filler, a blank Braille pattern or a
 * control, or "élodie" written with a combining accent: a principal the platform, its auditors and
 * its reports show as alice's or élodie's, with none of their exemptions or bindings, and whose
 * receipts read like theirs. Such a subject is refused (`federation.subject_unusable`), audited as
 * every refused answer, never decided. End to end through the HTTP server, against the stub OIDC
 * IdP (real signed ID tokens) and the real samlify IdP.
 */
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestServer, type TestServer } from "../../http/test-support/open-test-server.js";
import {
  createTenant,
  registerStubIdp,
  stubSignIn,
  syncClock,
} from "../../http/test-support/oidc-federation.js";
import {
  answerAtAcs,
  followCompletion,
  must,
  registerSamlTenant,
} from "../../http/test-support/saml-federation.js";
import { expectRefusedAnswer } from "../../http/test-support/refused-answer.js";
import { startStubIdp, type StubIdp } from "../../verifiers/oidc/test-support/stub-idp.js";
import { TestIdp } from "../../verifiers/saml/test-support/test-idp.js";

const SAML_RETURN = "https://app.globex.example/signed-in";
const JSON_ONLY = { accept: "application/json" };

/** Subjects that look like another principal's, and the audit detail each is refused with. */
const LOOK_ALIKES: readonly (readonly [string, string, string])[] = [
  [
    "a zero-width space (Cf)",
    "alice\u200b@example.org",
    "the subject holds a control or invisible formatting character",
  ],
  [
    "a leading byte order mark (Cf)",
    "\ufeffalice@example.org",
    "the subject holds a control or invisible formatting character",
  ],
  [
    "a next-line control (Cc)",
    "alice\u0085@example.org",
    "the subject holds a control or invisible formatting character",
  ],
  [
    "a line separator (Zl)",
    "alice\u2028@example.org",
    "the subject holds a control or invisible formatting character",
  ],
  [
    "a blank Braille pattern (U+2800)",
    "alice\u2800@example.org",
    "the subject holds a blank Braille pattern (U+2800)",
  ],
  [
    "a variation selector (Mn, default ignorable)",
    "alice\ufe0f@example.org",
    "the subject holds a character that shows nothing (default ignorable)",
  ],
  [
    "a combining grapheme joiner (Mn, default ignorable)",
    "alice\u034f@example.org",
    "the subject holds a character that shows nothing (default ignorable)",
  ],
  [
    "a Hangul filler (Lo, default ignorable)",
    "alice\u3164@example.org",
    "the subject holds a character that shows nothing (default ignorable)",
  ],
  [
    "a no-break space at its end",
    "alice@example.org\u00a0",
    "the subject begins or ends with white space",
  ],
  [
    "a combining accent (not NFC)",
    "e\u0301lodie@example.org",
    "the subject is not in Unicode normalization form C",
  ],
];

let stub: StubIdp;
let t: TestServer;
let auditor: string;
const samlIdp = new TestIdp({ entityId: "https://idp.globex.example/saml" });

beforeAll(async () => {
  stub = await startStubIdp();
  t = await openTestServer({});
  // ID tokens carry the real time; the server reads its test clock.
  syncClock(t);
  await createTenant(t, "acme", "idp_mfa");
  must(await registerStubIdp(t, t.adminKey, "acme", stub), 201);
  await registerSamlTenant(t, samlIdp, "globex", { posture: "idp_mfa", returnUrls: [SAML_RETURN] });
  auditor = await t.key(["tenant_auditor"], ["acme", "globex"]);
});
afterAll(async () => {
  await t.close();
  await stub.close();
});

async function samlSignIn(nameId: string): Promise<LightMyRequestResponse> {
  const { acs, cookie } = await answerAtAcs(t, samlIdp, SAML_RETURN, { nameId }, "globex", {
    headers: JSON_ONLY,
  });
  return followCompletion(t, acs, cookie, JSON_ONLY);
}

/** The answer is refused as `federation.subject_unusable` with `detail`, and nothing decided. */
const expectRefused = (
  tenant: string,
  answer: () => Promise<LightMyRequestResponse>,
  detail: string,
): Promise<void> =>
  expectRefusedAnswer(t, auditor, tenant, answer, "federation.subject_unusable", detail);

/** The answer was decided: the browser goes back with a decision. */
function expectDecided(response: LightMyRequestResponse): void {
  expect(response.statusCode, response.body).toBe(303);
  expect(String(response.headers.location)).toContain("decision=");
}

describe("an IdP subject that could pass for another principal", () => {
  it.each(LOOK_ALIKES)("is refused from an OIDC IdP: %s", async (_, sub, detail) => {
    await expectRefused("acme", () => stubSignIn(t, stub, "acme", sub, JSON_ONLY), detail);
  });

  it.each(LOOK_ALIKES)("is refused from a SAML IdP: %s", async (_, nameId, detail) => {
    await expectRefused("globex", () => samlSignIn(nameId), detail);
  });

  it("leaves a subject in NFC with letters beyond ASCII decided, on both protocols", async () => {
    expectDecided(await stubSignIn(t, stub, "acme", "\u00e9lodie@example.org", JSON_ONLY));
    expectDecided(await samlSignIn("\u00e9lodie@example.org"));
  });
});
