// Threat: a WebAuthn ceremony whose check was on a worker thread that failed (crashed, stopped,
// timed out) answering its client with a stack trace, a hang, or a success. Over HTTP, with real
// threads that have stopped: a problem document with no internals, and nothing stored.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createWebAuthnProtocol,
  startVerificationThreads,
} from "../../verifiers/webauthn/index.js";
import { SoftAuthenticator } from "../../verifiers/webauthn/test-support/soft-authenticator.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";

const ORIGIN = "https://mfa.test";
const base = (principal: string) => `/v1/tenants/acme/principals/${principal}/authenticators`;
const threads = startVerificationThreads({ threads: 1 });

let t: TestServer;
let service: string;
beforeAll(async () => {
  t = await openTestServer({
    webauthn: {
      protocol: createWebAuthnProtocol({ verificationThreads: threads }),
      publicUrl: ORIGIN,
    },
  });
  await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "acme", name: "Acme Corp" } });
  for (const principal of ["alice", "bob"]) {
    await t.call("PUT", `/v1/tenants/acme/principals/${principal}`, {
      key: t.adminKey,
      body: { population: "direct", displayName: `${principal}@acme.example` },
    });
  }
  service = await t.key(["platform_service"], ["acme"]);
});
afterAll(async () => {
  await t.close();
  await threads.close();
});

/** Begins a ceremony (`registrations` or `authentications`) and sends `answer`'s response. */
async function ceremony(
  principal: string,
  kind: "registrations" | "authentications",
  answer: (options: Record<string, unknown>) => Record<string, unknown>,
) {
  const begun = await t.call("POST", `${base(principal)}/webauthn/${kind}`, { key: service });
  expect(begun.statusCode, begun.body).toBe(201);
  const body = begun.json<Record<string, unknown>>();
  const id = String(body.registration ?? body.authentication);
  return t.call("POST", `${base(principal)}/webauthn/${kind}/${id}`, {
    key: service,
    body: { response: answer(body.options as Record<string, unknown>) },
  });
}

const authenticators = async (principal: string) =>
  (await t.call("GET", base(principal), { key: service })).json<{ items: unknown[] }>().items;

describe("WebAuthn over HTTP when the verification threads have stopped", () => {
  it("answers a registration and a sign-in with a problem, no stack, and stores nothing", async () => {
    const key = new SoftAuthenticator({ origin: ORIGIN });
    const registered = await ceremony("alice", "registrations", (options) => key.register(options));
    expect(registered.statusCode, registered.body).toBe(201);
    const before = { alice: await authenticators("alice"), bob: await authenticators("bob") };
    expect([before.alice.length, before.bob.length]).toEqual([1, 0]);

    await threads.close();
    const other = new SoftAuthenticator({ origin: ORIGIN });
    const refused = [
      await ceremony("bob", "registrations", (options) => other.register(options)),
      await ceremony("alice", "authentications", (options) => key.authenticate(options)),
    ];
    for (const response of refused) {
      // Nothing was judged: a retry shortly, not a refusal and not a bug.
      expect(response.statusCode, response.body).toBe(503);
      expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(response.headers["retry-after"]).toBe("1");
      expect(response.json()).toMatchObject({
        status: 503,
        code: "webauthn.unavailable",
        retryAfter: 1,
      });
      expect(response.body).not.toMatch(
        /VerificationThreadFailed|verification thread|\bat \S+:\d+/,
      );
    }
    expect({ alice: await authenticators("alice"), bob: await authenticators("bob") }).toEqual(
      before,
    );
  });
});
