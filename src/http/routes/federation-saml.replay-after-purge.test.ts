// Threat: an unsolicited SAML answer (no request to consume) replayed once its one-time claim is
// purged, while the answer still passes its verifier: on an instance whose clock runs behind the
// one that purged, or after an administrator raised the IdP's clock skew. The claim must outlive
// every moment at which any instance could still accept the answer, through whichever of its
// bearer confirmations.
import { beforeEach, afterEach, describe, expect, it } from "vitest";
import { TestIdp } from "../../verifiers/saml/test-support/test-idp.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";
import { must, registerSamlTenant } from "../test-support/saml-federation.js";

const RETURN_TO = "https://app.initech.example/signed-in";
/** The test IdP's assertions expire five minutes after they are issued. */
const LIFETIME_SECONDS = 300;
/** The IdP registration's default clock skew. */
const SKEW_SECONDS = 120;

let t: TestServer;
let idp: TestIdp;

beforeEach(async () => {
  t = await openTestServer();
  idp = new TestIdp({ entityId: "https://idp.corp.example/saml" });
  await registerSamlTenant(t, idp, "initech", {
    posture: "idp_mfa",
    returnUrls: [RETURN_TO],
    allowUnsolicited: true,
  });
});

afterEach(async () => {
  await t.close();
});

async function unsolicitedAnswer(): Promise<string> {
  const metadata = must(await t.call("GET", "/t/initech/idps/corp/saml/metadata"), 200);
  const identity = {
    entityId: "https://mfa.test/t/initech/idps/corp/saml/metadata",
    acsUrl: "https://mfa.test/t/initech/idps/corp/saml/acs",
  };
  return idp.login(identity, metadata.body, undefined, { issuedAt: t.clock.now() });
}

function post(samlResponse: string) {
  return t.call("POST", "/t/initech/idps/corp/saml/acs", {
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams({ SAMLResponse: samlResponse, RelayState: RETURN_TO }).toString(),
  });
}

/** Moves past the answer's expiry and skew, and has the store purge what expired by then. */
async function purgeAfterExpiry(): Promise<void> {
  t.clock.advance(LIFETIME_SECONDS + SKEW_SECONDS + 61);
  const start = await t.call(
    "GET",
    `/t/initech/idps/corp/start?return_to=${encodeURIComponent(RETURN_TO)}`,
  );
  expect(start.statusCode).toBe(303);
}

describe("an unsolicited SAML answer's one-time claim outlives every instance's acceptance", () => {
  it("refuses the answer replayed at an instance whose clock runs 3 minutes behind the one that purged", async () => {
    const samlResponse = await unsolicitedAnswer();
    must(await post(samlResponse), 303);
    await purgeAfterExpiry();
    // The same store, read by an instance whose clock is three minutes behind: the answer is
    // still within its expiry plus skew there.
    t.clock.advance(-180);
    const replay = await post(samlResponse);
    expect(replay.statusCode).toBe(400);
    expect(replay.json()).toMatchObject({
      code: "federation.rejected",
      details: { reason: "federation.replayed" },
    });
  });

  it("refuses the answer replayed after the IdP's clock skew was raised to its maximum", async () => {
    const samlResponse = await unsolicitedAnswer();
    must(await post(samlResponse), 303);
    await purgeAfterExpiry();
    const registration = await t.call("GET", "/v1/tenants/initech/idps/corp", { key: t.adminKey });
    const { version, saml } = registration.json<{
      version: number;
      saml: Record<string, unknown>;
    }>();
    must(
      await t.call("PUT", "/v1/tenants/initech/idps/corp", {
        key: t.adminKey,
        headers: { "if-match": `"${String(version)}"` },
        body: {
          protocol: "saml",
          saml: { metadataXml: idp.metadataXml(), allowUnsolicited: saml["allowUnsolicited"] },
          clockSkewSeconds: 600,
        },
      }),
      200,
    );
    const replay = await post(samlResponse);
    expect(replay.statusCode).toBe(400);
    expect(replay.json()).toMatchObject({ details: { reason: "federation.replayed" } });
  });

  it("refuses the answer replayed after its first bearer confirmation expired, while a second one valid for hours still passes", async () => {
    const metadata = must(await t.call("GET", "/t/initech/idps/corp/saml/metadata"), 200);
    const issued = t.clock.now();
    const late = new Date(issued.getTime() + 3 * 3600_000).toISOString();
    const acsUrl = "https://mfa.test/t/initech/idps/corp/saml/acs";
    const identity = { entityId: "https://mfa.test/t/initech/idps/corp/saml/metadata", acsUrl };
    const samlResponse = await idp.login(identity, metadata.body, undefined, {
      issuedAt: issued,
      // No Conditions NotOnOrAfter: the bearer confirmations alone bound the answer's life.
      tags: { ConditionsNotOnOrAfter: undefined },
      rawTags: {
        // A second bearer confirmation for this ACS after the first, valid for three hours.
        SubjectRecipient:
          `${acsUrl}"/></saml:SubjectConfirmation>` +
          `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">` +
          `<saml:SubjectConfirmationData NotOnOrAfter="${late}" Recipient="${acsUrl}`,
      },
    });
    must(await post(samlResponse), 303);
    // Past the first confirmation's five minutes, the skew, and the claim's own margin.
    t.clock.advance(LIFETIME_SECONDS + 600 + 300 + 120);
    await purgeAfterExpiry();
    const replay = await post(samlResponse);
    expect(replay.statusCode, replay.body).toBe(400);
    expect(replay.json()).toMatchObject({ details: { reason: "federation.replayed" } });
  });
});
