/**
 * The demo apps of `serve --demo`, planned before the server opens and started once it listens:
 * the development IdP (Initech's, `http://localhost:8082`) and the demo platform
 * (`http://localhost:8081`), both bound to 127.0.0.1. The plan says what tenant-mfa must have
 * registered for them (seeded by src/cli/seed-demo.ts); the start takes the API key that seeding
 * made for the platform.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { idpEndpoints } from "../app/federation/endpoints.js";
import { startDemoIdp, type DemoIdp } from "./demo-idp.js";
import { loadOidcProvider } from "./oidc-provider-slice.js";
import { startPlatformApp } from "./platform-app.js";

export { DemoDependencyMissing } from "./oidc-provider-slice.js";

/** Default ports: tenant-mfa itself is on 8080. */
export const DEMO_PLATFORM_PORT = 8081;
export const DEMO_IDP_PORT = 8082;

/** Where the demo runs. */
export interface DemoSettings {
  /** tenant-mfa's public URL (`http://localhost:8080` unless one is configured). */
  readonly publicUrl: string;
  readonly platformPort: number;
  readonly idpPort: number;
  /** The IdP registration the development IdP plays. */
  readonly idp: { readonly tenant: string; readonly id: string };
  /** Default `127.0.0.1`. */
  readonly host?: string;
}

/** The running demo apps. */
export interface RunningDemo {
  readonly platformUrl: string;
  readonly idpUrl: string;
  close(): Promise<void>;
}

/** A demo ready to start: what to register first, then {@link DemoPlan.start}. */
export interface DemoPlan {
  /** What tenant-mfa must register (the shape of seed-demo's `DemoApps`). */
  readonly apps: {
    readonly returnUrl: string;
    readonly idp: {
      readonly issuer: string;
      readonly clientId: string;
      readonly clientSecret: string;
    };
  };
  readonly platformUrl: string;
  start(input: {
    /** Where the server listens, for the platform's backend calls. */
    readonly apiUrl: string;
    /** The platform's `platform_service` key, made by the seeding. */
    readonly platformKey: { readonly id: string; readonly secret: string };
  }): Promise<RunningDemo>;
}

/**
 * Plans the demo: a fresh client secret for this run, the URLs browsers will use. Throws
 * `DemoDependencyMissing` at once when `oidc-provider` is not installed, before anything starts.
 */
export async function planDemo(settings: DemoSettings): Promise<DemoPlan> {
  await loadOidcProvider();
  const platformUrl = `http://localhost:${String(settings.platformPort)}`;
  const issuer = `http://localhost:${String(settings.idpPort)}`;
  const client = {
    clientId: `tenant-mfa-${settings.idp.tenant}`,
    clientSecret: randomBytes(32).toString("base64url"),
    redirectUris: [
      idpEndpoints(settings.publicUrl, settings.idp.tenant, settings.idp.id).oidcRedirectUri,
    ],
  };
  const host = settings.host ?? "127.0.0.1";
  return {
    apps: {
      returnUrl: `${platformUrl}/callback`,
      idp: { issuer, clientId: client.clientId, clientSecret: client.clientSecret },
    },
    platformUrl,
    async start({ apiUrl, platformKey }) {
      const idp: DemoIdp = await startDemoIdp({
        port: settings.idpPort,
        host,
        issuer,
        client,
        // tenant-mfa sends Initech's people on to the demo platform after the IdP's answer.
        continuesTo: [platformUrl],
      });
      try {
        const platform = await startPlatformApp({
          port: settings.platformPort,
          host,
          url: platformUrl,
          tenantMfa: {
            apiUrl,
            publicUrl: settings.publicUrl,
            apiKey: platformKey.secret,
          },
        });
        return {
          platformUrl,
          idpUrl: issuer,
          async close() {
            await Promise.all([platform.close(), idp.close()]);
          },
        };
      } catch (error) {
        await idp.close();
        throw error;
      }
    },
  };
}
