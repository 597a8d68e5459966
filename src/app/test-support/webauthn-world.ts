import { provedMfaJustNow } from "./fresh-mfa.js";
import type { AuthenticationEvent } from "../../core/evidence.js";
import type { Caller, WebAuthnSettingsInput } from "../application.js";
import type { Store } from "../ports.js";
import type { WebAuthnParts } from "../authenticators/webauthn.js";
import { AppError } from "../errors.js";
import {
  SoftAuthenticator,
  type Knobs,
  type SoftAuthenticatorOptions,
} from "../../verifiers/webauthn/test-support/soft-authenticator.js";
import { createWebAuthnProtocol } from "../../verifiers/webauthn/index.js";
import { openHarness, type Harness } from "./harness.js";
import { openPostgresDatabase } from "./postgres-instances.js";

/** The origin and RP id every tenant gets by default in tests (the harness's public URL). */
export const TEST_ORIGIN = "https://mfa.test";

/**
 * Two tenants (acme, globex), each with principals alice and bob and a platform service key,
 * over the real application and store (SQLite, or PostgreSQL when asked), with helpers that run whole WebAuthn ceremonies
 * with a software authenticator.
 */
export interface WebAuthnWorld {
  readonly h: Harness;
  readonly service: { readonly acme: Caller; readonly globex: Caller };
  /** A software authenticator speaking from the test origin. */
  authenticator(options?: Partial<SoftAuthenticatorOptions>): SoftAuthenticator;
  /** Registers a credential of `authenticator`; returns the authenticator view. */
  register(
    authenticator: SoftAuthenticator,
    options?: { knobs?: Knobs; name?: string; principal?: string; tenant?: "acme" | "globex" },
  ): ReturnType<Harness["app"]["webauthn"]["finishRegistration"]>;
  /** Runs an authentication ceremony; `prepare` may change the response before it is sent. */
  authenticate(
    authenticator: SoftAuthenticator,
    options?: { knobs?: Knobs; principal?: string; tenant?: "acme" | "globex" },
  ): ReturnType<Harness["app"]["webauthn"]["finishAuthentication"]>;
  /** acme's decision for alice on `mfa` alone, asked by acme's platform service key. */
  decide(mfa: AuthenticationEvent): ReturnType<Harness["app"]["decisions"]["decide"]>;
  /** Replaces acme's settings (relative to the defaults). */
  configure(settings: Partial<WebAuthnSettingsInput>): Promise<void>;
  /** The error code a promise rejects with. */
  codeOf(promise: Promise<unknown>): Promise<string>;
  /** Every audit event of acme, oldest first. */
  audit(): Promise<readonly { type: string; payload: Readonly<Record<string, unknown>> }[]>;
  close(): Promise<void>;
}

/** Whether the operator trusts its attestation roots: a test takes them out, and back in. */
export interface RootTrust {
  trusted: boolean;
}

/**
 * The real verifier trusting `roots` while `trust.trusted` holds, with the test origin: as if
 * the operator took the roots out of the configuration, and put them back.
 */
export function withdrawableRoots(roots: readonly string[], trust: RootTrust): WebAuthnParts {
  const protocol = createWebAuthnProtocol({ attestationRoots: roots });
  return {
    protocol: {
      ...protocol,
      trustsAttestationRoot: (root) => trust.trusted && protocol.trustsAttestationRoot(root),
    },
    publicUrl: TEST_ORIGIN,
  };
}

/**
 * Opens the world; `attestationRoots` are the operator's (as `webauthn.attestationRoots`), for
 * the real verifier with the harness's public URL.
 */
export async function openWebAuthnWorld(
  options: {
    webauthn?: WebAuthnParts;
    attestationRoots?: readonly string[];
    /** A fresh PostgreSQL database, dropped on close, instead of SQLite in memory. */
    postgres?: boolean;
    /** The store to open instead (as `describeOnEachStore` gives one); its owner drops it. */
    url?: string;
    /** An open store to use instead (a wrapped one); the world closes it. */
    store?: Store;
  } = {},
): Promise<WebAuthnWorld> {
  const webauthn =
    options.webauthn ??
    (options.attestationRoots === undefined
      ? undefined
      : {
          protocol: createWebAuthnProtocol({ attestationRoots: options.attestationRoots }),
          publicUrl: TEST_ORIGIN,
        });
  const database = options.postgres === true ? await openPostgresDatabase() : undefined;
  const h = await openHarness({
    ...(webauthn === undefined ? {} : { webauthn }),
    ...(database === undefined ? {} : { url: database.url }),
    ...(options.url === undefined ? {} : { url: options.url }),
    ...(options.store === undefined ? {} : { store: options.store }),
  });
  for (const tenant of ["acme", "globex"]) {
    await h.app.tenants.create(h.admin, { id: tenant, name: `${tenant} corp` });
    for (const principal of ["alice", "bob"]) {
      await h.app.principals.upsert(h.admin, tenant, principal, {
        population: "direct",
        displayName: `${principal}@${tenant}.example`,
      });
    }
  }
  const service = {
    acme: await h.caller(["platform_service"], ["acme"]),
    globex: await h.caller(["platform_service"], ["globex"]),
  };
  const world: WebAuthnWorld = {
    h,
    service,
    authenticator: (settings = {}) => new SoftAuthenticator({ origin: TEST_ORIGIN, ...settings }),
    async register(authenticator, { knobs, name, principal = "alice", tenant = "acme" } = {}) {
      const caller = service[tenant];
      await provedMfaJustNow(h, tenant, principal);
      const begun = await h.app.webauthn.beginRegistration(caller, tenant, principal);
      return h.app.webauthn.finishRegistration(caller, tenant, principal, begun.registration, {
        response: authenticator.register(begun.options, knobs),
        ...(name === undefined ? {} : { name }),
      });
    },
    async authenticate(authenticator, { knobs, principal = "alice", tenant = "acme" } = {}) {
      const caller = service[tenant];
      const begun = await h.app.webauthn.beginAuthentication(caller, tenant, principal);
      return h.app.webauthn.finishAuthentication(caller, tenant, principal, begun.authentication, {
        response: authenticator.authenticate(begun.options, knobs),
      });
    },
    decide: (mfa) =>
      h.app.decisions.decide(service.acme, "acme", {
        principal: { id: "alice" },
        evidence: { events: [mfa] },
      }),
    async configure(settings) {
      await h.app.webauthn.putSettings(h.admin, "acme", {
        rpId: "mfa.test",
        origins: [TEST_ORIGIN],
        ...settings,
      });
    },
    async codeOf(promise) {
      try {
        await promise;
        return "ok";
      } catch (error) {
        if (error instanceof AppError) return error.code;
        throw error;
      }
    },
    async audit() {
      const page = await h.app.audit.list(h.admin, "acme", {}, { limit: 500 });
      return page.items;
    },
    async close() {
      try {
        await h.close();
      } finally {
        await database?.drop();
      }
    },
  };
  return world;
}
