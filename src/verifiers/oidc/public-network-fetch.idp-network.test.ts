// Threat: the guard wired wrong either way. With `idpNetwork: "public"` (the default) an issuer on
// this server's own network must get no connection at all, by address or by name; with `"any"`
// the operator has chosen to reach IdPs on a private network, and loopback must stay reachable
// (the test suites and the demo run their IdPs there). A bare TCP server counts connections, so
// even a refused TLS handshake shows that the connection was made.
import { createServer, type Server } from "node:net";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS } from "../../app/context.js";
import { openApplication, type OpenedApplication } from "../../main.js";

const RETURN = "https://app.acme.example/signed-in";

describe("the OIDC connections the opened application makes", () => {
  let listener: Server;
  let port: number;
  let connections = 0;
  let opened: OpenedApplication | undefined;

  beforeEach(async () => {
    connections = 0;
    listener = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    ({ port } = listener.address() as AddressInfo);
  });
  afterEach(async () => {
    await opened?.close();
    opened = undefined;
    await new Promise<void>((resolve) => {
      listener.close(() => {
        resolve();
      });
    });
  });

  /** Starts a sign-in at an OIDC IdP whose issuer is `issuer`; the refusal's audited detail. */
  async function signInAt(issuer: string, idpNetwork: "public" | "any"): Promise<string> {
    opened = await openApplication({
      db: "sqlite::memory:",
      exemptions: DEFAULT_SETTINGS.exemptions,
      idpNetwork,
    });
    const { app } = opened;
    const admin = await app.authenticate((await opened.bootstrap({ name: "ops" })).secret);
    await app.tenants.create(admin, { id: "acme", name: "Acme", returnUrls: [RETURN] });
    await app.idps.put(admin, "acme", "corp", {
      registration: {
        protocol: "oidc",
        oidc: { issuer, clientId: "tenant-mfa", clientSecret: "s3cret" },
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

  it.each(["127.0.0.1", "localhost"])(
    "opens no connection to an issuer at %s with idpNetwork public",
    async (host) => {
      expect(await signInAt(`https://${host}:${port}`, "public")).toBe(
        "discovery request failed (NonPublicAddress)",
      );
      expect(connections).toBe(0);
    },
  );

  it("still connects to an issuer on loopback with idpNetwork any", async () => {
    expect(await signInAt(`https://127.0.0.1:${port}`, "any")).toMatch(
      /^discovery request failed \(TypeError/,
    );
    expect(connections).toBe(1);
  });
});
