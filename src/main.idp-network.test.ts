// Threat: server-side request forgery through a tenant's IdP registration. By default the
// application this package opens reaches tenants' OIDC IdPs on the public internet only: an
// issuer on this server's own network (a metadata service, an admin interface) is refused before
// any request leaves, and the refusal is audited. `idpNetwork: "any"` lifts the guard for IdPs on
// a private network.
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS } from "./app/context.js";
import { openApplication, type OpenedApplication } from "./main.js";

const RETURN = "https://app.acme.example/signed-in";

describe("the OIDC IdPs this server reaches", () => {
  let opened: OpenedApplication | undefined;
  afterEach(async () => {
    await opened?.close();
  });

  /** A tenant whose OIDC IdP claims an issuer on a private address; the refusal's detail. */
  async function signInAt(idpNetwork?: "public" | "any"): Promise<string> {
    opened = await openApplication({
      db: "sqlite::memory:",
      exemptions: DEFAULT_SETTINGS.exemptions,
      ...(idpNetwork === undefined ? {} : { idpNetwork }),
    });
    const { app } = opened;
    const admin = await app.authenticate((await opened.bootstrap({ name: "ops" })).secret);
    await app.tenants.create(admin, { id: "acme", name: "Acme", returnUrls: [RETURN] });
    await app.idps.put(admin, "acme", "corp", {
      registration: {
        protocol: "oidc",
        // Nothing listens here: reaching it would take the 5 s timeout to fail.
        oidc: { issuer: "https://127.0.0.1:9", clientId: "tenant-mfa", clientSecret: "s3cret" },
      },
      ifMatch: undefined,
    });
    await expect(
      app.federation.start("acme", "corp", { returnTo: RETURN, browser: "a-browser-cookie" }),
    ).rejects.toMatchObject({
      code: "federation.rejected",
    });
    const [refused] = (await app.audit.list(admin, "acme", { type: "federation.rejected" }, {}))
      .items;
    return String(refused?.payload["detail"]);
  }

  it("refuses an issuer on a private address before any request leaves, by default", async () => {
    expect(await signInAt()).toBe("discovery request failed (NonPublicAddress)");
  });

  it("reaches it with idpNetwork any (here: nothing answers)", async () => {
    expect(await signInAt("any")).toMatch(/^discovery request failed \(TypeError/);
  });
});
