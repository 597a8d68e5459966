// DESIGN invariant 8 on PostgreSQL: input that passes for SQLite but that PostgreSQL cannot store
// or compare, a whole number beyond its `integer` columns (audit seq, policy version) or a string
// holding U+0000 (PostgreSQL text cannot hold NUL), reached the store and came back as a 503
// store.unavailable. It is bad input, refused before the store with 400 request.invalid, the
// same on both stores. Where the value names something to look up (a flow, a ceremony, a
// sign-in's state, a one-time code), it is answered as an unknown one is; a hosted page answers
// with its own failure page.
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openingOf } from "../app/test-support/flow-opening.js";
import { storesUnderTest } from "../storage/test-support/stores-under-test.js";
import { SoftAuthenticator } from "../verifiers/webauthn/test-support/soft-authenticator.js";
import { openTestServer, type TestServer } from "./test-support/open-test-server.js";
import { openFlowPage } from "./test-support/open-flow-page.js";

const RETURN = "https://app.acme.example/signed-in";

const stores = await storesUnderTest("Out-of-range input");

for (const { name, skip, open } of stores) {
  describe.skipIf(skip)(
    `numbers and text a ${name} store cannot hold${skip ? " (skipped: no PostgreSQL reachable outside CI)" : ""}`,
    () => {
      let t: TestServer;
      let service: string;
      let drop: () => Promise<void>;

      beforeAll(async () => {
        const [store, cleanup] = await open();
        drop = cleanup;
        t = await openTestServer({ store });
        const created = await t.call("POST", "/v1/tenants", {
          key: t.adminKey,
          body: { id: "acme", name: "Acme", returnUrls: [RETURN] },
        });
        expect(created.statusCode).toBe(201);
        service = await t.key(["platform_service"], ["acme"]);
      });
      afterAll(async () => {
        await t.close();
        await drop();
      });

      const codeOf = (response: { body: string }) =>
        (JSON.parse(response.body) as { code?: string }).code;
      const expectInvalid = (response: { statusCode: number; body: string }) => {
        expect([response.statusCode, codeOf(response)], response.body).toEqual([
          400,
          "request.invalid",
        ]);
      };
      const get = (url: string) => t.call("GET", url, { key: t.adminKey });

      it.each([["/v1/tenants/acme/audit"], ["/v1/platform/audit"]])(
        "refuses an audit cursor past 2^31 - 1, and pages from 2^31 - 1 itself (%s)",
        async (chain) => {
          expectInvalid(await get(`${chain}?after=2147483648`));
          expectInvalid(await get(`${chain}?after=3000000000`));
          const last = await get(`${chain}?after=2147483647`);
          expect(last.statusCode, last.body).toBe(200);
          expect(last.json<{ items: unknown[] }>().items).toEqual([]);
        },
      );

      it("refuses a policy history cursor past 2^31 - 1, and pages from 2^31 - 1 itself", async () => {
        expectInvalid(await get("/v1/tenants/acme/policy/history?after=2147483648"));
        const last = await get("/v1/tenants/acme/policy/history?after=2147483647");
        expect(last.statusCode, last.body).toBe(200);
        expect(last.json<{ items: unknown[] }>().items).toHaveLength(1);
      });

      it("refuses a rollback to a version past 2^31 - 1", async () => {
        const rollback = (toVersion: number) =>
          t.call("POST", "/v1/tenants/acme/policy/rollback", {
            key: t.adminKey,
            headers: { "if-match": '"1"' },
            body: { toVersion, rationale: "typo" },
          });
        expectInvalid(await rollback(3000000000));
        const inRange = await rollback(2147483647);
        expect(inRange.statusCode, inRange.body).toBeGreaterThanOrEqual(400);
        expect(inRange.statusCode, inRange.body).toBeLessThan(500);
        expect(codeOf(inRange)).not.toBe("request.invalid");
      });

      it("refuses a NUL in a policy rationale", async () => {
        expectInvalid(
          await t.call("PUT", "/v1/tenants/acme/policy", {
            key: t.adminKey,
            headers: { "if-match": '"1"' },
            body: { policy: { posture: "platform_mfa" }, rationale: "audit\u0000 hidden" },
          }),
        );
      });

      it("refuses a NUL in a tenant name or a principal's display name", async () => {
        expectInvalid(
          await t.call("POST", "/v1/tenants", {
            key: t.adminKey,
            body: { id: "globex", name: "Glo\u0000bex" },
          }),
        );
        expectInvalid(
          await t.call("PUT", "/v1/tenants/acme/principals/alice", {
            key: t.adminKey,
            body: { population: "direct", displayName: "Al\u0000ice" },
          }),
        );
      });

      // Both stores replace a lone surrogate with U+FFFD: two names sent would come back as one.
      it("refuses a lone UTF-16 surrogate in a tenant name, a display name or a rationale", async () => {
        expectInvalid(
          await t.call("POST", "/v1/tenants", {
            key: t.adminKey,
            body: { id: "globex", name: "Glo\ud800bex" },
          }),
        );
        expectInvalid(
          await t.call("PUT", "/v1/tenants/acme/principals/alice", {
            key: t.adminKey,
            body: { population: "direct", displayName: "Al\udc00ice" },
          }),
        );
        expectInvalid(
          await t.call("PUT", "/v1/tenants/acme/policy", {
            key: t.adminKey,
            headers: { "if-match": '"1"' },
            body: { policy: { posture: "platform_mfa" }, rationale: "half \ud83d of a pair" },
          }),
        );
        // A whole pair is text like any other.
        const paired = await t.call("PUT", "/v1/tenants/acme/principals/alice", {
          key: t.adminKey,
          body: { population: "direct", displayName: "Alice \ud83d\ude00" },
        });
        expect(paired.statusCode, paired.body).toBeLessThan(300);
        expect(paired.json()).toMatchObject({ displayName: "Alice \ud83d\ude00" });
      });

      it("refuses a NUL in a query string or a path segment", async () => {
        expectInvalid(await get("/v1/tenants/acme/audit?type=policy%00"));
        expectInvalid(await get("/v1/platform/audit?type=mandate%00"));
        expectInvalid(await get("/v1/tenants?after=a%00b"));
        expectInvalid(await get("/v1/tenants/ac%00me/policy"));
        expectInvalid(await get("/v1/decisions/dec%00"));
      });

      it("refuses a NUL in the verification an MFA event names", async () => {
        const service = await t.key(["platform_service"], ["acme"]);
        const at = t.clock.now().toISOString();
        for (const verification of ["evt_000001\u0000", "\u0000"]) {
          expectInvalid(
            await t.call("POST", "/v1/tenants/acme/decisions", {
              key: service,
              body: {
                principal: { id: "alice", population: "direct" },
                evidence: {
                  events: [
                    { method: "password", source: "platform", at },
                    { method: "totp", source: "platform", at, verification },
                  ],
                },
              },
            }),
          );
        }
      });

      it("refuses a tenant cursor that decodes to a NUL", async () => {
        // "AA" is base64url for U+0000: a well-formed cursor of a key this service never gave out.
        expectInvalid(await get("/v1/tenants?after=AA"));
      });

      it("refuses a NUL in a flow's state, audience or return URL", async () => {
        const create = (extra: Record<string, unknown>) =>
          t.call("POST", "/v1/tenants/acme/flows", {
            key: service,
            body: { principal: { id: "alice", population: "direct" }, return_to: RETURN, ...extra },
          });
        expectInvalid(await create({ state: "s\u0000" }));
        expectInvalid(await create({ audience: "rp\u0000" }));
        expectInvalid(await create({ return_to: `${RETURN}/\u0000` }));
      });

      it("answers a flow code holding a NUL as a code nobody issued", async () => {
        const exchange = (code: string) =>
          t.call("POST", "/v1/flows/exchange", { key: service, body: { code } });
        const unknown = await exchange("x".repeat(43));
        expect([unknown.statusCode, codeOf(unknown)]).toEqual([400, "flow.code_invalid"]);
        const nul = await exchange(`${"x".repeat(42)}\u0000`);
        expect([nul.statusCode, codeOf(nul)], nul.body).toEqual([400, "flow.code_invalid"]);
      });

      /** A hosted page's failure: its status and the reference code it shows. */
      const pageOf = (response: LightMyRequestResponse) => [
        response.statusCode,
        /<code>([a-z_.]+)<\/code>/.exec(response.body)?.[1],
      ];

      /**
       * A flow of `principal` opened in a browser, at the URL the API gave (with the flow's
       * opening secret): its id, its opening secret, the browser's cookie, its CSRF token.
       */
      async function openFlow(principal: string) {
        const created = await t.call("POST", "/v1/tenants/acme/flows", {
          key: service,
          body: {
            principal: { id: principal, population: "direct" },
            verified: [{ method: "password", source: "platform", at: t.clock.now().toISOString() }],
            return_to: RETURN,
          },
        });
        expect(created.statusCode, created.body).toBe(201);
        const started = created.json<{ flow: string; url: string }>();
        const { flow } = started;
        const { page, cookie } = await openFlowPage(t.server, started);
        expect(page.statusCode, page.body).toBe(200);
        const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1];
        if (csrf === undefined) throw new Error("no CSRF token");
        return { flow, opening: openingOf(started), cookie, csrf };
      }

      const postForm = (flow: string, cookie: string, fields: Record<string, string>) =>
        t.server.inject({
          method: "POST",
          url: `/t/acme/flows/${flow}`,
          headers: { "content-type": "application/x-www-form-urlencoded", cookie },
          payload: new URLSearchParams(fields).toString(),
        });

      it("answers a flow id or tenant holding a NUL as an unknown flow", async () => {
        const { flow, opening, cookie, csrf } = await openFlow("alice");
        const unknown = await t.server.inject({ url: "/t/acme/flows/flw_unknown" });
        expect(pageOf(unknown)).toEqual([404, "flow.not_found"]);
        for (const path of [`/t/acme/flows/${flow}%00`, `/t/ac%00me/flows/${flow}`]) {
          // With the flow's cookie and its opening secret: only the NUL makes it unknown.
          const shown = await t.server.inject({
            url: `${path}?open=${opening}`,
            headers: { cookie },
          });
          expect(pageOf(shown), shown.body).toEqual([404, "flow.not_found"]);
          const posted = await t.server.inject({
            method: "POST",
            url: path,
            headers: { "content-type": "application/x-www-form-urlencoded", cookie },
            payload: new URLSearchParams({ action: "continue", csrf }).toString(),
          });
          expect(pageOf(posted), posted.body).toEqual([404, "flow.not_found"]);
        }
        const options = (path: string) =>
          t.server.inject({
            method: "POST",
            url: `${path}/webauthn/options`,
            headers: { "content-type": "application/json", "x-csrf-token": csrf, cookie },
            payload: JSON.stringify({ purpose: "authentication" }),
          });
        const unknownOptions = await options("/t/acme/flows/flw_unknown");
        expect([unknownOptions.statusCode, codeOf(unknownOptions)]).toEqual([403, "flow.unusable"]);
        for (const path of [`/t/acme/flows/${flow}%00`, `/t/ac%00me/flows/${flow}`]) {
          const answer = await options(path);
          expect([answer.statusCode, codeOf(answer)], answer.body).toEqual([403, "flow.unusable"]);
        }
      });

      it("refuses a NUL in a hosted flow's form fields", async () => {
        const { flow, cookie, csrf } = await openFlow("alice");
        const response = JSON.stringify({
          id: "cred",
          rawId: "cred",
          type: "public-key",
          response: {},
        });
        const forms: Record<string, string>[] = [
          { action: "verify_totp", csrf, authenticator: "auth\u0000", code: "123456" },
          { action: "confirm_totp", csrf, authenticator: "auth\u0000", code: "123456" },
          { action: "verify_recovery_code", csrf, code: "ABCD-\u0000" },
          { action: "verify_webauthn", csrf, ceremony: "cer\u0000", response },
          { action: "register_webauthn", csrf, ceremony: "cer\u0000", response },
          { action: "register_webauthn", csrf, ceremony: "cer", response, name: "key\u0000" },
          { action: "idp", csrf, idp: "corp\u0000" },
          { action: "continue", csrf: `${csrf}\u0000` },
        ];
        for (const form of forms) {
          const answer = await postForm(flow, cookie, form);
          expect(pageOf(answer), `${JSON.stringify(form)}: ${answer.body}`).toEqual([
            400,
            "flow.bad_request",
          ]);
        }
        // The flow is still usable: nothing above reached it.
        const shown = await t.server.inject({ url: `/t/acme/flows/${flow}`, headers: { cookie } });
        expect(shown.statusCode, shown.body).toBe(200);
      });

      it("refuses a WebAuthn response from a hosted flow whose credential id holds a NUL", async () => {
        const registered = await t.call("PUT", "/v1/tenants/acme/principals/bob", {
          key: t.adminKey,
          body: { population: "direct" },
        });
        expect(registered.statusCode, registered.body).toBeLessThan(300);
        const base = "/v1/tenants/acme/principals/bob/authenticators/webauthn";
        const key = new SoftAuthenticator({ origin: "https://mfa.test" });
        const begun = await t.call("POST", `${base}/registrations`, { key: service });
        expect(begun.statusCode, begun.body).toBe(201);
        const { registration, options } = begun.json<{ registration: string; options: unknown }>();
        const finished = await t.call("POST", `${base}/registrations/${registration}`, {
          key: service,
          body: { response: key.register(options) },
        });
        expect(finished.statusCode, finished.body).toBe(201);

        const { flow, cookie, csrf } = await openFlow("bob");
        const ceremony = await t.call("POST", `${base}/authentications`, { key: service });
        expect(ceremony.statusCode, ceremony.body).toBe(201);
        const { authentication, options: asked } = ceremony.json<{
          authentication: string;
          options: unknown;
        }>();
        for (const id of ["\u0000", `${key.credentials.keys().next().value ?? ""}\u0000`]) {
          const answer = await postForm(flow, cookie, {
            action: "verify_webauthn",
            csrf,
            ceremony: authentication,
            response: JSON.stringify({ ...key.authenticate(asked), id }),
          });
          expect(pageOf(answer), answer.body).toEqual([400, "flow.bad_request"]);
        }
      });

      it("answers an OIDC callback whose state holds a NUL as an unknown sign-in", async () => {
        // Registered, never contacted: the callback is refused before any request to the IdP.
        const idp = await t.call("PUT", "/v1/tenants/acme/idps/oidc", {
          key: t.adminKey,
          body: {
            protocol: "oidc",
            oidc: {
              issuer: "https://oidc.acme.example",
              clientId: "tenant-mfa",
              clientSecret: "s",
            },
          },
        });
        expect(idp.statusCode, idp.body).toBe(201);
        const callback = (query: string) =>
          t.server.inject({
            url: `/t/acme/idps/oidc/oidc/callback?${query}`,
            headers: { accept: "application/json" },
          });
        const unknown = await callback("state=fed_unknown&code=abc");
        expect([unknown.statusCode, codeOf(unknown)]).toEqual([400, "federation.request_unknown"]);
        for (const query of ["state=fed_%00&code=abc", "state=%00", "state=fed_1&code=a%00"]) {
          const answer = await callback(query);
          expect([answer.statusCode, codeOf(answer)], answer.body).toEqual([
            400,
            "federation.request_unknown",
          ]);
        }
      });

      it("refuses a NUL in a tenant's logo URL", async () => {
        expectInvalid(
          await t.call("PUT", "/v1/tenants/acme/branding", {
            key: t.adminKey,
            body: { logoUrl: "https://cdn.acme.example/logo\u0000.png" },
          }),
        );
      });

      it("refuses a NUL in a recovery code", async () => {
        expectInvalid(
          await t.call(
            "POST",
            "/v1/tenants/acme/principals/alice/authenticators/recovery-codes/verify",
            { key: service, body: { code: "ABCD-EFGH-JKMN-PQRS-TVW\u0000" } },
          ),
        );
      });
    },
  );
}
