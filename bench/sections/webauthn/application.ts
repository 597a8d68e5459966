import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bootstrapPlatformAdmin } from "../../../src/app/api-keys/api-keys.js";
import type { Application, Caller } from "../../../src/app/application.js";
import { DEFAULT_SETTINGS, type Context } from "../../../src/app/context.js";
import { createApplication } from "../../../src/app/create-application.js";
import { systemClock } from "../../../src/main.js";
import { createAesGcmSealer } from "../../../src/secrets/aes-gcm-sealer.js";
import { keyFromFile } from "../../../src/secrets/sealing-keys.js";
import { openStore } from "../../../src/storage/open-store.js";
import {
  createWebAuthnProtocol,
  defaultVerificationThreads,
  startVerificationThreads,
} from "../../../src/verifiers/webauthn/index.js";
import { SoftAuthenticator } from "../../../src/verifiers/webauthn/test-support/soft-authenticator.js";
import { countingTransactions } from "../federation/application.js";
import { ScriptedRandom } from "../federation/scripted-random.js";

/** The bench's tenant (posture `phishing_resistant`), relying party and origin. */
export const TENANT = "acme";
export const RP_ID = "mfa.bench.example";
export const ORIGIN = `https://${RP_ID}`;

/** One principal with one registered credential, and the software authenticator holding it. */
export interface RegisteredPrincipal {
  readonly principal: string;
  /** The authenticator record's id (`auth_…`). */
  readonly authenticator: string;
  readonly credentialId: string;
  /** The COSE public key as the store holds it (base64url), for the bare verification. */
  readonly publicKey: string;
  readonly key: SoftAuthenticator;
}

/** The application and its registered principals, over a SQLite file. */
export interface WebAuthnBench {
  readonly app: Application & { close(): Promise<void> };
  readonly admin: Caller;
  /** A `platform_service` caller of `acme`: it runs the ceremonies and asks for decisions. */
  readonly service: Caller;
  readonly random: ScriptedRandom;
  readonly principals: readonly RegisteredPrincipal[];
  readonly dbPath: string;
  /** `Store.transaction` calls so far (on SQLite, concurrent ones share one commit). */
  transactions(): number;
  close(): Promise<void>;
}

/**
 * Opens the store at `sqlite:<tmp>/tenant-mfa.db` (WAL, `synchronous=NORMAL`, as in production)
 * and builds the application as `openApplication` does (AES-GCM sealer keyed from the file
 * beside the database, `createWebAuthnProtocol` checking assertions on the default number of
 * verification threads, the wall clock), except for its `Random`: a
 * {@link ScriptedRandom} that is `cryptoRandom` until the bench scripts the challenges
 * (`secret(32)`) of the rounds that time the begin step. Sets up, through the use cases, tenant
 * `acme` with posture `phishing_resistant` and its relying party (`mfa.bench.example`, user
 * verification required), a `platform_service` key, and `count` `direct` principals, each with
 * one ES256 credential of its own {@link SoftAuthenticator} (counter 0, `counterStep: 0`:
 * 0/0 on every assertion, as most passkeys), registered by a whole ceremony.
 */
export async function openWebAuthnBench(options: {
  readonly count: number;
  readonly log: (line: string) => void;
}): Promise<WebAuthnBench> {
  const dir = mkdtempSync(join(tmpdir(), "tenant-mfa-bench-webauthn-"));
  const dbPath = join(dir, "tenant-mfa.db");
  const { store, count: transactions } = countingTransactions(await openStore(`sqlite:${dbPath}`));
  const random = new ScriptedRandom();
  // As `serve` checks assertions: on worker threads, as many as it starts by default.
  const count = defaultVerificationThreads();
  const threads = count === 0 ? undefined : startVerificationThreads({ threads: count });
  const context: Context = { store, clock: systemClock, random, settings: DEFAULT_SETTINGS };
  const app = createApplication({
    ...context,
    secrets: createAesGcmSealer([keyFromFile(join(dir, "encryption-key.json"))]),
    webauthn: {
      protocol: createWebAuthnProtocol(
        threads === undefined ? {} : { verificationThreads: threads },
      ),
    },
  });
  const close = async (): Promise<void> => {
    await app.close();
    await threads?.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const { secret: adminKey } = await bootstrapPlatformAdmin(context, {
      name: "bench platform admin",
    });
    const admin = await app.authenticate(adminKey);
    await app.tenants.create(admin, { id: TENANT, name: "Acme" });
    await app.policies.replace(admin, TENANT, {
      policy: { posture: "phishing_resistant" },
      rationale: "Our people sign in with device-bound passkeys",
      ifMatch: 1,
    });
    await app.webauthn.putSettings(admin, TENANT, { rpId: RP_ID, origins: [ORIGIN] });
    const { secret: serviceKey } = await app.apiKeys.create(admin, {
      name: "bench platform service",
      roles: ["platform_service"],
      tenants: [TENANT],
    });
    const service = await app.authenticate(serviceKey);

    const principals: RegisteredPrincipal[] = [];
    for (let index = 0; index < options.count; index++) {
      const principal = `user${String(index).padStart(6, "0")}`;
      await app.principals.upsert(admin, TENANT, principal, { population: "direct" });
      const key = new SoftAuthenticator({ origin: ORIGIN, algorithm: -7, counterStep: 0 });
      const begun = await app.webauthn.beginRegistration(service, TENANT, principal);
      const view = await app.webauthn.finishRegistration(
        service,
        TENANT,
        principal,
        begun.registration,
        { response: key.register(begun.options), name: "passkey" },
      );
      principals.push({
        principal,
        authenticator: view.id,
        credentialId: view.credentialId,
        publicKey: "",
        key,
      });
      if ((index + 1) % 256 === 0) {
        options.log(`  ${String(index + 1)}/${String(options.count)} registered`);
      }
    }
    // The public keys as stored, read as the application reads them.
    const stored = await store.read(async (r) =>
      Promise.all(
        principals.map(async (p) =>
          r.webauthnCredentials.get(TENANT, p.principal, p.authenticator),
        ),
      ),
    );
    const withKeys = principals.map((p, index) => {
      const record = stored[index];
      if (record === undefined) throw new Error(`${p.principal}'s credential is not stored`);
      return { ...p, publicKey: record.publicKey };
    });
    return {
      app,
      admin,
      service,
      random,
      principals: withKeys,
      dbPath,
      transactions,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
