// Threat: a SAML answer leaks through what the service keeps: the audit chain (read by auditors,
// exported as JSON Lines), the receipts, the logs, or the page shown to the browser. A posted
// SAMLResponse is a bearer credential until it expires, and its assertion names the person
// (SECURITY-CHECKLIST X: audit logs never contain assertions; DESIGN invariant 6: nothing secret
// is logged). Successful and refused SAML sign-ins are run through the real server, logging at
// `trace` with the server's own redaction, against a real samlify IdP; then no log line, audit
// payload, receipt or response holds the SAMLResponse, a long piece of it, or the assertion XML,
// and no log line names the subject.
import { DOMParser, XMLSerializer } from "@xmldom/xmldom";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestIdp } from "../../verifiers/saml/test-support/test-idp.js";
import {
  ASSERTION,
  assertionOf,
  decode,
  DSIG,
  first,
  impersonate,
  tamper,
} from "../../verifiers/saml/test-support/tamper.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";
import { browserCookie } from "../test-support/browser-cookie.js";
import { followCompletion, must, registerSamlTenant } from "../test-support/saml-federation.js";
import { capturedLog } from "../test-support/captured-log.js";

const RETURN_TO = "https://app.acme.example/signed-in";
const SUBJECT = "grace.hopper.7f3a@corp.example";
/** The browser the sign-ins are started and completed in: its cookie is kept nowhere either. */
const BROWSER = browserCookie("k", "__Host-tmfa_browser");
const BROWSER_VALUE = BROWSER.slice(BROWSER.indexOf("=") + 1);

let t: TestServer;
let idp: TestIdp;
const { logger, lines: logLines } = capturedLog();
const responses: LightMyRequestResponse[] = [];

async function call(...args: Parameters<TestServer["call"]>): Promise<LightMyRequestResponse> {
  const response = await t.call(...args);
  responses.push(response);
  return response;
}

const sp = {
  entityId: "https://mfa.test/t/acme/idps/corp/saml/metadata",
  acsUrl: "https://mfa.test/t/acme/idps/corp/saml/acs",
};

/** Starts a sign-in (for `principal`, if given) and lets the IdP answer it as `nameId`. */
async function signIn(nameId: string, principal?: string) {
  const hint = principal === undefined ? "" : `&principal=${encodeURIComponent(principal)}`;
  const started = must(
    await call("GET", `/t/acme/idps/corp/start?return_to=${encodeURIComponent(RETURN_TO)}${hint}`, {
      headers: { cookie: BROWSER },
    }),
    303,
  );
  const metadata = must(await call("GET", "/t/acme/idps/corp/saml/metadata"), 200).body;
  const request = await idp.receiveAuthnRequest(metadata, started.headers.location as string);
  const samlResponse = await idp.login(sp, metadata, request.id, {
    issuedAt: t.clock.now(),
    nameId,
  });
  return { samlResponse, relayState: request.relayState ?? "" };
}

/** The answer posted to the ACS, and the completion it redirects to followed with the cookie. */
async function post(form: { samlResponse: string; relayState: string }, accept?: string) {
  const body = new URLSearchParams({
    SAMLResponse: form.samlResponse,
    RelayState: form.relayState,
  });
  const headers = accept === undefined ? {} : { accept };
  const acs = await call("POST", "/t/acme/idps/corp/saml/acs", {
    body: body.toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  });
  const completed = await followCompletion(t, acs, BROWSER, headers);
  if (completed !== acs) responses.push(completed);
  return completed;
}

beforeAll(async () => {
  t = await openTestServer({
    bodyLimitBytes: 256 * 1024,
    logger,
  });
  idp = new TestIdp({ entityId: "https://idp.corp.example/saml" });
  await registerSamlTenant(t, idp, "acme", { posture: "idp_mfa", returnUrls: [RETURN_TO] });
});
afterAll(() => t.close());

/** Every 32-character piece of `text`, and the form-encoded whole. */
function piecesOf(text: string): string[] {
  const pieces = [text, new URLSearchParams({ v: text }).toString().slice(2)];
  for (let at = 0; at + 32 <= text.length; at += 32) pieces.push(text.slice(at, at + 32));
  return pieces;
}

/** What must never be kept of an answer's XML: its assertion, the signature, the NameID element. */
function xmlFingerprints(samlResponse: string): string[] {
  const assertion = assertionOf(new DOMParser().parseFromString(decode(samlResponse), "text/xml"));
  const xml = new XMLSerializer();
  const assertionXml = xml.serializeToString(assertion);
  const signatureValue = (first(assertion, DSIG, "SignatureValue").textContent ?? "").trim();
  return [
    assertionXml,
    assertionXml.slice(0, 120),
    signatureValue,
    signatureValue.slice(0, 40),
    xml.serializeToString(first(assertion, ASSERTION, "NameID")),
    "<saml:Assertion",
    "<saml:NameID",
    "<samlp:Response",
  ];
}

describe("SAML answers never reach the logs, the audit chain, the receipts or the pages", () => {
  it("holds for an allowed sign-in, its replay, a forged, a foreign-subject and a malformed answer", async () => {
    /** What must not be kept: each posted value, and the XML of the IdP's answer it came from. */
    const fingerprints: string[] = [BROWSER_VALUE];
    const send = async (
      form: { samlResponse: string; relayState: string },
      status: number,
      accept?: string,
      signed = form.samlResponse,
    ) => {
      fingerprints.push(...piecesOf(form.samlResponse), ...xmlFingerprints(signed));
      return must(await post(form, accept), status);
    };

    // Allowed: the IdP proved MFA for the subject the sign-in was started for.
    const good = await signIn(SUBJECT, SUBJECT);
    const allowed = await send(good, 303);
    const decision = new URL(allowed.headers.location as string).searchParams.get("decision");
    const receipt = must(
      await call("GET", `/v1/decisions/${decision ?? ""}`, { key: t.adminKey }),
      200,
    );
    expect(receipt.json()).toMatchObject({ outcome: "allow", principal: SUBJECT });

    // Refused: the same answer again, as a page and as JSON.
    await send(good, 400);
    await send(good, 400, "application/json");
    // Refused: a forged subject inside the signed assertion.
    const forged = await signIn(SUBJECT);
    await send(
      {
        samlResponse: tamper(forged.samlResponse, (doc) => {
          impersonate(assertionOf(doc));
        }),
        relayState: forged.relayState,
      },
      400,
      "application/json",
    );
    // Refused: the IdP signed in someone else than the sign-in was started for.
    const other = await signIn(SUBJECT, "someone.else@corp.example");
    await send(other, 403);
    // Refused: the signed answer cut short (not XML any more).
    const cut = await signIn(SUBJECT);
    await send(
      {
        samlResponse: Buffer.from(decode(cut.samlResponse).slice(0, 1500)).toString("base64"),
        relayState: cut.relayState,
      },
      400,
      "application/json",
      cut.samlResponse,
    );

    const stored = await t.store.read(({ audit }) =>
      audit.read("tenant:acme", { afterSeq: 0, limit: 1000 }),
    );
    const reasons = stored
      .filter((event) => event.type === "federation.rejected")
      .map((event) => event.payload["reason"]);
    expect(reasons).toEqual([
      "federation.request_unknown",
      "federation.request_unknown",
      "saml.signature_invalid",
      "federation.subject_mismatch",
      "saml.malformed",
    ]);
    expect(stored.filter((event) => event.type === "decision.recorded")).toHaveLength(1);
    const exported = await call("GET", "/v1/tenants/acme/audit?format=jsonl&limit=500", {
      key: t.adminKey,
    });
    expect(exported.statusCode).toBe(200);

    expect(logLines.length).toBeGreaterThan(10);
    const logs = logLines.join("\n");
    const kept = {
      logs,
      audit: JSON.stringify(stored.map((event) => event.payload)),
      exported: exported.body,
      receipt: receipt.body,
      responses: responses.map((r) => `${JSON.stringify(r.headers)}\n${r.body}`).join("\n"),
    };
    for (const fingerprint of fingerprints) {
      for (const [where, text] of Object.entries(kept)) {
        expect(text.includes(fingerprint), `${where} holds ${fingerprint.slice(0, 60)}`).toBe(
          false,
        );
      }
    }
    // The subject is who signed in: the receipt and the decision's audit event name it, the logs never.
    expect(kept.audit).toContain(SUBJECT);
    expect(logs).not.toContain(SUBJECT);
    expect(logs).not.toContain(encodeURIComponent(SUBJECT));
  });
});
