import { codeVerifierContext } from "../../app/federation/endpoints.js";
import type { Caller } from "../../app/application.js";
import type { SecretSealer, Store } from "../../app/ports.js";
import type { OpenedApplication } from "../../main.js";

/**
 * Begins a TOTP enrolment, as the platform's backend does: a platform administrator, tenant
 * `acme` with principal `alice`, a `platform_service` key, and alice's pending authenticator,
 * whose secret the application seals with its first key. Returns the administrator.
 */
export async function beginTotpEnrolment(opened: OpenedApplication): Promise<Caller> {
  const { secret } = await opened.bootstrap({ name: "admin" });
  const admin = await opened.app.authenticate(secret);
  await opened.app.tenants.create(admin, { id: "acme", name: "Acme" });
  await opened.app.principals.upsert(admin, "acme", "alice", { population: "direct" });
  const { secret: serviceKey } = await opened.app.apiKeys.create(admin, {
    name: "backend",
    roles: ["platform_service"],
    tenants: ["acme"],
  });
  const service = await opened.app.authenticate(serviceKey);
  await opened.app.authenticators.beginTotp(service, "acme", "alice", {});
  return admin;
}

/**
 * Stores an OIDC sign-in sent to acme's IdP `okta` at `now` and not yet answered (ten minutes to
 * go), its PKCE verifier sealed by `sealer` as the federation seals one: what starting a sign-in
 * at a real IdP leaves, without fetching its discovery document.
 */
export async function storePendingOidcSignIn(
  opened: { readonly store: Store },
  sealer: SecretSealer,
  id = "fed_pending",
  now = Date.now(),
): Promise<void> {
  await opened.store.transaction((r) =>
    r.federationRequests.insert({
      id,
      tenant: "acme",
      idp: "okta",
      protocol: "oidc",
      nonce: "n-0S6_WzA2Mj",
      sealedCodeVerifier: sealer.seal("a-pkce-code-verifier", codeVerifierContext(id)),
      returnTo: "https://app.acme.example/signed-in",
      requested: [],
      forceAuthn: false,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + 600_000).toISOString(),
    }),
  );
}
