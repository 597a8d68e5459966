/**
 * Threat: a genuine token of another tenant or another principal that has also expired (or is
 * not valid yet, or outlived its exemption). `jose` refuses its time before the SDK reads its
 * `tenant` and `sub`, so it was refused as `token.expired`: an ordinary lapse, which a browser
 * guard answers by starting a step-up flow (303) rather than refusing it, and which a platform
 * counting `token.wrong_tenant` / `token.wrong_subject` never sees. A stolen or planted token of
 * someone else is still someone else's once old: it is refused as foreign, and never redirected.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { guardAssurance, type AssuranceGuardOptions } from "./guard-assurance.js";
import { openFakeFlowApi, type FakeFlowApi } from "./test-support/fake-flow-api.js";
import {
  AUDIENCE,
  ISSUER,
  openAssuranceFixture,
  TENANT,
  type AssuranceFixture,
} from "./test-support/assurance-fixture.js";
import { verifyAssuranceToken } from "./verify-assurance-token.js";

const RETURN_TO = "https://platform.test/mfa/return";

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

/** The ways a token is out of time, each beyond the 60 s tolerance. */
const outOfTime = (): Record<string, Record<string, unknown>> => {
  const now = f.nowSeconds();
  return {
    expired: { iat: now - 400, auth_time: now - 400, exp: now - 100 },
    "issued ahead": { iat: now + 120, auth_time: now, exp: now + 400 },
    "not before ahead": { nbf: now + 120 },
    "proved ahead": { auth_time: now + 120 },
    "past its exemption": { exemption: { id: "exm_1", expires_at: now - 100 } },
  };
};

const codeOf = async (token: string, subject?: string): Promise<string> =>
  verifyAssuranceToken(token, {
    jwksUrl: f.jwksUrl,
    issuer: ISSUER,
    audience: AUDIENCE,
    tenant: TENANT,
    ...(subject === undefined ? {} : { subject }),
    currentDate: f.server.clock.now(),
  }).then(
    () => "verified",
    (error: unknown) => (error as { code?: string }).code ?? String(error),
  );

describe("verifyAssuranceToken on a genuine token of someone else, out of time", () => {
  it("refuses another tenant's token as token.wrong_tenant, whatever its time", async () => {
    for (const [how, times] of Object.entries(outOfTime())) {
      const token = await f.sign(f.claims({ tenant: "globex", ...times }));
      expect([how, await codeOf(token)]).toEqual([how, "token.wrong_tenant"]);
    }
  });

  it("refuses another principal's token as token.wrong_subject, whatever its time", async () => {
    for (const [how, times] of Object.entries(outOfTime())) {
      const token = await f.sign(f.claims({ sub: "bob", ...times }));
      expect([how, await codeOf(token, "alice")]).toEqual([how, "token.wrong_subject"]);
    }
  });

  it("still refuses the right tenant's and principal's token for its time", async () => {
    const expected: Record<string, string> = {
      expired: "token.expired",
      "issued ahead": "token.not_yet_valid",
      "not before ahead": "token.not_yet_valid",
      "proved ahead": "token.not_yet_valid",
      "past its exemption": "token.expired",
    };
    for (const [how, times] of Object.entries(outOfTime())) {
      const token = await f.sign(f.claims(times));
      expect([how, await codeOf(token, "alice")]).toEqual([how, expected[how]]);
    }
  });
});

interface Req {
  readonly headers: Record<string, string>;
  readonly tenant: string;
  readonly user: string;
}

const guard: () => AssuranceGuardOptions<Req> = () => ({
  verify: { jwksUrl: f.jwksUrl, issuer: ISSUER, audience: AUDIENCE },
  needs: { minAal: 2 },
  tenant: (req) => req.tenant,
  principal: (req) => ({ id: req.user }),
  now: () => f.server.clock.now(),
  stepUp: { client: { baseUrl: api.baseUrl, apiKey: api.apiKey }, returnTo: RETURN_TO },
});

describe("a browser guard given an expired token of someone else", () => {
  const expired = () => {
    const now = f.nowSeconds();
    return { iat: now - 400, auth_time: now - 400, exp: now - 100 };
  };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it.each([
    ["another tenant's token", "token.wrong_tenant", { tenant: "globex" }],
    ["another principal's token", "token.wrong_subject", { sub: "bob" }],
  ])("refuses %s (401 %s) and starts no flow", async (_what, code, foreign) => {
    const token = await f.sign(f.claims({ ...foreign, ...expired() }));
    const outcome = await guardAssurance(guard(), {
      headers: bearer(token),
      tenant: "acme",
      user: "alice",
    });
    expect(outcome).toMatchObject({ kind: "refuse", problem: { status: 401, code } });
    expect(api.received).toHaveLength(0);
  });

  it("still sends the session's own expired token to a new flow", async () => {
    const token = await f.sign(f.claims(expired()));
    const outcome = await guardAssurance(guard(), {
      headers: bearer(token),
      tenant: "acme",
      user: "alice",
    });
    expect(outcome.kind).toBe("redirect");
    expect(api.received).toHaveLength(1);
  });
});
