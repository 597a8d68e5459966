// Key rotation is routine: `tenant-mfa secrets reseal` seals every secret again under the new
// key, the OIDC client secrets among them. What an IdP proved counts only while the registration
// that verified it is current (a registration replaced, its keys leaked say, proves nothing
// more); a re-seal changes no registration, so it must not end what the IdP proved: else each
// rotation sent every user of every tenant back to the IdP. Against a real OIDC provider.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { FlowBrowser } from "../../app/application.js";
import { DEFAULT_SETTINGS } from "../../app/context.js";
import type { FlowScreen } from "../../app/flows/flow-screens.js";
import { resealSecrets } from "../../app/secrets/reseal-secrets.js";
import { openingOf } from "../../app/test-support/flow-opening.js";
import { cryptoRandom } from "../../main.js";
import { createAesGcmSealer } from "../../secrets/aes-gcm-sealer.js";
import { createOidcProtocol } from "../../verifiers/oidc/index.js";
import {
  REFEDS_MFA,
  startOidcProviderPeer,
  type OidcProviderPeer,
} from "../../verifiers/oidc/test-support/oidc-provider-peer.js";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";
import {
  atPeer,
  createTenant,
  publicUrlOf,
  registerPeer,
  RETURN_URL,
  serverPath,
  syncClock,
} from "../test-support/oidc-federation.js";

const OLD_KEY = { id: "old", key: randomBytes(32) };
const NEW_KEY = { id: "new", key: randomBytes(32) };

let peer: OidcProviderPeer;
let t: TestServer;
let service: string;
beforeAll(async () => {
  peer = await startOidcProviderPeer();
  t = await openTestServer({
    federation: {
      oidc: createOidcProtocol({ allowHttp: true }),
      publicUrl: publicUrlOf(peer),
      // The server as configured during a rotation: the old key seals, the new one is known.
      secrets: createAesGcmSealer([OLD_KEY, NEW_KEY]),
    },
  });
  syncClock(t);
  await createTenant(t, "acme", "idp_mfa");
  const admin = await t.key(["tenant_admin"], ["acme"]);
  service = await t.key(["platform_service"], ["acme"]);
  expect((await registerPeer(t, admin, "acme", peer)).statusCode).toBe(201);
  await t.call("PUT", "/v1/tenants/acme/principals/carol", {
    key: admin,
    body: { population: "sso" },
  });
});
afterAll(async () => {
  await t.close();
  await peer.close();
});

const browser: FlowBrowser = { cookie: "carols-browser-cookie-0123456789abcdef" };

/** The code a screen sends the browser back to the platform with, if it does. */
const codeOf = (screen: FlowScreen): string | null =>
  screen.kind === "redirect" ? new URL(screen.location).searchParams.get("code") : null;

/** A new flow for carol, opened in her browser: its id and first screen. */
async function openFlow(): Promise<{ flow: string; screen: FlowScreen }> {
  const created = await t.call("POST", "/v1/tenants/acme/flows", {
    key: service,
    body: { principal: { id: "carol" }, return_to: RETURN_URL },
  });
  expect(created.statusCode, created.body).toBe(201);
  const started = created.json<{ flow: string; url: string }>();
  const screen = await t.app.flows.show("acme", started.flow, browser, {
    opening: openingOf(started),
  });
  return { flow: started.flow, screen };
}

it("keeps what the IdP proved in a browser through a re-seal of its client secret", async () => {
  // Carol signs in at the IdP with MFA, in a first flow.
  const { flow, screen } = await openFlow();
  if (screen.kind !== "challenge") throw new Error(`a challenge, not ${screen.kind}`);
  peer.nextSignIn = { accountId: "carol", acr: REFEDS_MFA, amr: ["pwd", "mfa"] };
  syncClock(t);
  const toIdp = await t.app.flows.act("acme", flow, browser, {
    kind: "idp",
    idp: "corp",
    csrf: screen.frame.csrfToken,
  });
  if (toIdp.kind !== "redirect") throw new Error(`a redirect, not ${toIdp.kind}`);
  const answered = await t.call("GET", serverPath(peer, await atPeer(peer, toIdp.location)));
  const answer = new URL(String(answered.headers.location)).searchParams.get("answer") ?? "";
  const claimed = await t.app.flows.show("acme", flow, browser, { answer });
  const done =
    claimed.kind === "redirect" ? await t.app.flows.show("acme", flow, browser) : claimed;
  expect(codeOf(done)).not.toBeNull();

  // The operator rotates the sealing key.
  const report = await resealSecrets(
    { store: t.store, clock: t.clock, random: cryptoRandom, settings: DEFAULT_SETTINGS },
    createAesGcmSealer([NEW_KEY, OLD_KEY]),
    "cli:secrets reseal",
  );
  expect(report).toMatchObject({ idpClientSecrets: 1 });

  // A later flow in carol's browser still reuses her IdP's proof: no new sign-in there.
  t.clock.advance(30);
  expect(codeOf((await openFlow()).screen)).not.toBeNull();
});
