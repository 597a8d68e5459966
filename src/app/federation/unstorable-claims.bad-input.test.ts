// Threat: a value that a registered IdP signs but that a store cannot hold turns a sign-in into a
// store outage, or into a record of something else than was signed. An ID token's `sub` holding
// U+0000 reached PostgreSQL (text cannot hold it) and the callback answered 503
// store.unavailable, on PostgreSQL only; a lone UTF-16 surrogate in `sub` was stored as U+FFFD
// (two subjects become one); a SAML assertion ID of 100 kB broke PostgreSQL's index limit (503);
// a 1025-character or 100 kB NameID, `sub`, `acr` or `amr` value was stored in full. Such an
// answer is bad input (DESIGN invariant 8): refused by the verifier with its own code
// (`oidc.claim_unusable`, `saml.value_unusable`), answered and audited as every other refused
// answer (400 `federation.rejected`), never decided, the same on both stores. XML cannot carry
// U+0000 or a lone surrogate, even as a character reference: SAML already refused those as
// `saml.malformed`, pinned here too. An answer valid to the very end of the year 9999 is judged
// as any other: its one-time claim, kept a while past its expiry, is kept to the last instant a
// store can hold (it was carried past it, and answered 503). End to end through the HTTP server,
// against the real samlify IdP and a stub OIDC IdP on loopback that signs real ID tokens.
import { randomBytes } from "node:crypto";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storesUnderTest } from "../../storage/test-support/stores-under-test.js";
import { openTestServer, type TestServer } from "../../http/test-support/open-test-server.js";
import {
  createTenant,
  registerStubIdp,
  RETURN_URL,
  syncClock,
} from "../../http/test-support/oidc-federation.js";
import { browserCookie } from "../../http/test-support/browser-cookie.js";
import { expectRefusedAnswer } from "../../http/test-support/refused-answer.js";
import {
  followCompletion,
  must,
  registerSamlTenant,
} from "../../http/test-support/saml-federation.js";
import {
  mfaClaims,
  startStubIdp,
  type StubIdp,
} from "../../verifiers/oidc/test-support/stub-idp.js";
import {
  REFEDS_MFA,
  TestIdp,
  type LoginOptions,
} from "../../verifiers/saml/test-support/test-idp.js";

const stores = await storesUnderTest("Unstorable IdP values");

const SAML_RETURN = "https://app.globex.example/signed-in";
/** The browser the sign-ins are started and completed in (the test server's URL is https). */
const BROWSER = browserCookie("B", "__Host-tmfa_browser");
const LONG = "a".repeat(100 * 1024);
/** 100 kB that do not compress: PostgreSQL compresses a long key before it indexes it. */
const NOISE = randomBytes(50 * 1024).toString("hex");

let stub: StubIdp;
beforeAll(async () => {
  stub = await startStubIdp();
});
afterAll(() => stub.close());

for (const { name, skip, open } of stores) {
  describe.skipIf(skip)(
    `IdP values a ${name} store cannot hold${skip ? " (skipped: no PostgreSQL reachable outside CI)" : ""}`,
    () => {
      let t: TestServer;
      let drop: () => Promise<void>;
      let auditor: string;
      const samlIdp = new TestIdp({ entityId: "https://idp.globex.example/saml" });

      beforeAll(async () => {
        const [store, cleanup] = await open();
        drop = cleanup;
        // Room for a 100 kB NameID in a posted SAMLResponse.
        t = await openTestServer({ store, bodyLimitBytes: 512 * 1024 });
        // ID tokens carry the real time; the server reads its test clock.
        syncClock(t);
        await createTenant(t, "acme", "idp_mfa");
        must(await registerStubIdp(t, t.adminKey, "acme", stub), 201);
        await registerSamlTenant(t, samlIdp, "globex", {
          posture: "idp_mfa",
          returnUrls: [SAML_RETURN],
        });
        auditor = await t.key(["tenant_auditor"], ["acme", "globex"]);
      });
      afterAll(async () => {
        await t.close();
        await drop();
      });

      /** Starts an OIDC sign-in, has the stub sign `claims` over a valid token, completes it. */
      async function oidcCallback(claims: Record<string, unknown>) {
        const started = must(
          await t.call(
            "GET",
            `/t/acme/idps/corp/start?${new URLSearchParams({ return_to: RETURN_URL }).toString()}`,
            { headers: { cookie: BROWSER } },
          ),
          303,
        );
        const authorization = new URL(String(started.headers.location));
        const state = authorization.searchParams.get("state") ?? "";
        const now = Math.floor(t.clock.now().getTime() / 1000);
        stub.nextIdToken = await stub.sign(mfaClaims(stub, authorization, "alice", now, claims));
        return t.call(
          "GET",
          `/t/acme/idps/corp/oidc/callback?code=the-code&state=${encodeURIComponent(state)}`,
          { headers: { accept: "application/json", cookie: BROWSER } },
        );
      }

      /**
       * Starts a SAML sign-in and has the real IdP sign its answer; posts it to the ACS.
       * `classRefXml` and `sessionIndex` go into the AuthnStatement as XML, unescaped.
       */
      async function samlAnswer(
        login: Partial<LoginOptions> & { classRefXml?: string; sessionIndex?: string },
      ) {
        const { classRefXml, sessionIndex, ...options } = login;
        const started = must(
          await t.call(
            "GET",
            `/t/globex/idps/corp/start?return_to=${encodeURIComponent(SAML_RETURN)}`,
            { headers: { cookie: BROWSER } },
          ),
          303,
        );
        const metadata = must(await t.call("GET", "/t/globex/idps/corp/saml/metadata"), 200).body;
        const request = await samlIdp.receiveAuthnRequest(
          metadata,
          String(started.headers.location),
        );
        const samlResponse = await samlIdp.login(
          {
            entityId: "https://mfa.test/t/globex/idps/corp/saml/metadata",
            acsUrl: "https://mfa.test/t/globex/idps/corp/saml/acs",
          },
          metadata,
          request.id,
          {
            issuedAt: t.clock.now(),
            ...options,
            ...(classRefXml === undefined && sessionIndex === undefined
              ? {}
              : {
                  tags: {
                    AuthnStatement:
                      `<saml:AuthnStatement AuthnInstant="${t.clock.now().toISOString()}"` +
                      ` SessionIndex="${sessionIndex ?? "_session1"}"><saml:AuthnContext>` +
                      `<saml:AuthnContextClassRef>${classRefXml ?? REFEDS_MFA}</saml:AuthnContextClassRef>` +
                      "</saml:AuthnContext></saml:AuthnStatement>",
                  },
                }),
          },
        );
        const body = new URLSearchParams({
          SAMLResponse: samlResponse,
          RelayState: request.relayState ?? "",
        });
        // Posted across sites without the cookie; the browser follows to the completion with it.
        const acs = await t.call("POST", "/t/globex/idps/corp/saml/acs", {
          body: body.toString(),
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            accept: "application/json",
          },
        });
        return followCompletion(t, acs, BROWSER, { accept: "application/json" });
      }

      const expectRefused = (
        tenant: string,
        answer: () => Promise<LightMyRequestResponse>,
        reason: string,
        detail?: string,
      ) => expectRefusedAnswer(t, auditor, tenant, answer, reason, detail);

      it("still decides an OIDC sign-in whose values are at their limits", async () => {
        const response = await oidcCallback({
          sub: "s".repeat(1024),
          acr: "c".repeat(512),
          amr: ["pwd", "m".repeat(512), "\u{1F511}"],
        });
        expect(response.statusCode, response.body).toBe(303);
        expect(String(response.headers.location)).toContain("decision=");
      });

      // The one-time claim is kept a while past the answer's expiry: an expiry at the very end of
      // the year 9999 must not carry it past what a time in the store can say (503 before).
      it("decides an OIDC sign-in whose ID token expires at the last second of the year 9999", async () => {
        const response = await oidcCallback({ exp: 253_402_300_799 });
        expect(response.statusCode, response.body).toBe(303);
        expect(String(response.headers.location)).toContain("decision=");
      });

      it.each([
        ["a NUL in sub", { sub: "al\u0000ice" }, "sub holds U+0000 (NUL)"],
        ["a NUL in acr", { acr: `${REFEDS_MFA}\u0000` }, "acr holds U+0000 (NUL)"],
        ["a NUL in an amr value", { amr: ["pwd", "m\u0000fa"] }, "amr[1] holds U+0000 (NUL)"],
        ["a lone surrogate in sub", { sub: "al\ud800ice" }, "sub holds a lone UTF-16 surrogate"],
        [
          "a lone surrogate in acr",
          { acr: `${REFEDS_MFA}\udc00` },
          "acr holds a lone UTF-16 surrogate",
        ],
        [
          "a lone surrogate in an amr value",
          { amr: ["pwd", "mfa\ud83d"] },
          "amr[1] holds a lone UTF-16 surrogate",
        ],
        [
          "a sub of 1025 characters",
          { sub: "s".repeat(1025) },
          "sub is longer than 1024 characters",
        ],
        ["a sub of 10 kB", { sub: "s".repeat(10 * 1024) }, "sub is longer than 1024 characters"],
        ["an acr of 513 characters", { acr: "c".repeat(513) }, "acr is longer than 512 characters"],
        [
          "an amr value of 513 characters",
          { amr: ["pwd", "m".repeat(513)] },
          "amr[1] is longer than 512 characters",
        ],
      ])("refuses an ID token with %s as oidc.claim_unusable", async (_, claims, detail) => {
        await expectRefused("acme", () => oidcCallback(claims), "oidc.claim_unusable", detail);
      });

      it("still decides a SAML sign-in whose values are at their limits", async () => {
        const response = await samlAnswer({
          nameId: "n".repeat(1024),
          classRefXml: "c".repeat(512),
          sessionIndex: "i".repeat(512),
        });
        expect(response.statusCode, response.body).toBe(303);
        expect(String(response.headers.location)).toContain("decision=");
      });

      it("decides a SAML sign-in whose assertion is valid until the last second of the year 9999", async () => {
        const response = await samlAnswer({
          tags: {
            SubjectConfirmationDataNotOnOrAfter: "9999-12-31T23:59:59Z",
            ConditionsNotOnOrAfter: "9999-12-31T23:59:59.999Z",
          },
        });
        expect(response.statusCode, response.body).toBe(303);
        expect(String(response.headers.location)).toContain("decision=");
      });

      // XML 1.0 has no U+0000 and no lone surrogate: written as they are, or as character
      // references that the signed bytes carry as they are once canonicalised, the hardened
      // parser refuses them before anything is read.
      it.each([
        ["a NUL in the NameID", { nameId: "al\u0000ice@example.org" }],
        ["a NUL reference in the NameID", { rawTags: { NameID: "al&#0;ice@example.org" } }],
        ["a lone surrogate in the NameID", { rawTags: { NameID: "al&#xD800;ice@example.org" } }],
        ["a NUL reference in the AuthnContextClassRef", { classRefXml: `${REFEDS_MFA}&#0;` }],
        ["a lone surrogate in the AuthnContextClassRef", { classRefXml: `${REFEDS_MFA}&#xDC00;` }],
      ] as const)("refuses a SAML answer with %s as saml.malformed", async (_, login) => {
        await expectRefused("globex", () => samlAnswer(login), "saml.malformed");
      });

      it.each([
        ["a NameID of 1025 characters", { nameId: "n".repeat(1025) }, "the subject"],
        ["a NameID of 100 kB", { nameId: LONG }, "the subject"],
        [
          "a NameID Format of 100 kB",
          { tags: { NameIDFormat: `urn:${LONG}` } },
          "the NameID Format",
        ],
        [
          "an AuthnContextClassRef of 513 characters",
          { classRefXml: "c".repeat(513) },
          "an AuthnContextClassRef",
        ],
        [
          "an AuthnContextClassRef of 100 kB",
          { authnContextClassRef: LONG },
          "an AuthnContextClassRef",
        ],
        ["a SessionIndex of 100 kB", { sessionIndex: LONG }, "the SessionIndex"],
        ["an assertion ID of 100 kB", { tags: { AssertionID: `_${NOISE}` } }, "the assertion ID"],
      ] as const)(
        "refuses a SAML answer with %s as saml.value_unusable",
        async (_, login, value) => {
          const limit = value === "the subject" ? 1024 : 512;
          await expectRefused(
            "globex",
            () => samlAnswer(login),
            "saml.value_unusable",
            `${value} is longer than ${limit} characters`,
          );
        },
      );
    },
  );
}
