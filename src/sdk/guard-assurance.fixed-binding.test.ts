/**
 * Threat: a guard built for one tenant (`verify.tenant`, which its options say applies to every
 * request) that also reads the tenant from the route (`tenant(req)`), letting the URL replace
 * the tenant it was built for: `/globex/reports` with a genuine token of globex then passes a
 * guard meant for acme alone. Likewise a fixed `verify.subject` replaced by `principal(req)`.
 * Both bindings hold: a token must be for the fixed tenant and subject and for the request's,
 * and a request for another tenant than the fixed one starts no flow there either.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { guardAssurance, type AssuranceGuardOptions } from "./guard-assurance.js";
import { openFakeFlowApi, type FakeFlowApi } from "./test-support/fake-flow-api.js";
import {
  AUDIENCE,
  ISSUER,
  openAssuranceFixture,
  type AssuranceFixture,
} from "./test-support/assurance-fixture.js";

const RETURN_TO = "https://platform.test/mfa/return";

interface Req {
  readonly headers: Record<string, string>;
  readonly tenant: string;
  readonly user: string;
}

let f: AssuranceFixture;
let api: FakeFlowApi;
beforeAll(async () => {
  f = await openAssuranceFixture();
  api = await openFakeFlowApi({ returnUrls: [RETURN_TO] });
});
afterAll(async () => {
  await api.close();
  await f.close();
});
beforeEach(() => {
  api.received.length = 0;
});

function options(fixed: { tenant?: string; subject?: string }): AssuranceGuardOptions<Req> {
  return {
    verify: { jwksUrl: f.jwksUrl, issuer: ISSUER, audience: AUDIENCE, ...fixed },
    needs: { minAal: 2 },
    tenant: (req) => req.tenant,
    principal: (req) => ({ id: req.user }),
    now: () => f.server.clock.now(),
    stepUp: { client: { baseUrl: api.baseUrl, apiKey: api.apiKey }, returnTo: RETURN_TO },
  };
}

const request = (tenant: string, user: string, token?: string): Req => ({
  headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  tenant,
  user,
});

describe("a guard given a fixed tenant or subject and the request's", () => {
  it("lets through a token for both", async () => {
    const token = await f.sign(f.claims({ tenant: "acme", sub: "alice" }));
    const outcome = await guardAssurance(
      options({ tenant: "acme", subject: "alice" }),
      request("acme", "alice", token),
    );
    expect(outcome.kind).toBe("pass");
  });

  it("refuses a genuine token of the tenant the route names when it is not the fixed tenant", async () => {
    const token = await f.sign(f.claims({ tenant: "globex", sub: "alice" }));
    const outcome = await guardAssurance(
      options({ tenant: "acme" }),
      request("globex", "alice", token),
    );
    expect(outcome).toMatchObject({ kind: "refuse", problem: { code: "token.wrong_tenant" } });
  });

  it("refuses a genuine token of the session's principal when it is not the fixed subject", async () => {
    const token = await f.sign(f.claims({ tenant: "acme", sub: "bob" }));
    const outcome = await guardAssurance(
      options({ subject: "alice" }),
      request("acme", "bob", token),
    );
    expect(outcome).toMatchObject({ kind: "refuse", problem: { code: "token.wrong_subject" } });
  });

  it("starts no flow in a tenant other than the fixed one", async () => {
    const outcome = await guardAssurance(options({ tenant: "acme" }), request("globex", "alice"));
    expect(outcome).toMatchObject({ kind: "refuse", problem: { code: "token.wrong_tenant" } });
    expect(api.received).toEqual([]);
  });
});
