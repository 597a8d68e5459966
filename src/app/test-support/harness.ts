import { createJoseTokenSigner } from "../../tokens/jose-token-signer.js";
import { randomBytes } from "node:crypto";
import { createScryptHasher } from "../../secrets/scrypt-hasher.js";
import { openStore } from "../../storage/open-store.js";
import { createTotpProtocol } from "../../verifiers/totp/index.js";
import { createWebAuthnProtocol } from "../../verifiers/webauthn/index.js";
import { bootstrapPlatformAdmin } from "../api-keys/api-keys.js";
import type { Application, Caller } from "../application.js";
import { DEFAULT_SETTINGS, type AppSettings, type Context } from "../context.js";
import { createApplication, type ApplicationParts } from "../create-application.js";
import type { FederationParts } from "../federation/endpoints.js";
import type { WebAuthnParts } from "../authenticators/webauthn.js";
import { testFederationParts } from "./federation-parts.js";
import type { Clock, Random, SecretSealer, Store, Timers } from "../ports.js";
import type { Role } from "../records.js";

/**
 * The real scrypt hasher at a low cost (N = 2^10), so that tests may issue many codes; the
 * production cost is tested beside the hasher.
 */
export const testRecoveryCodeHasher = createScryptHasher({ log2N: 10, r: 8, p: 1 });

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  #now: number;
  constructor(start = "2026-11-23T12:00:00.000Z") {
    this.#now = Date.parse(start);
  }
  now(): Date {
    return new Date(this.#now);
  }
  advance(seconds: number): void {
    this.#now += seconds * 1000;
  }
}

/** Timers that run only when the test says so. */
export class ManualTimers implements Timers {
  readonly #pending = new Set<{ readonly ms: number; readonly task: () => Promise<void> }>();
  after(ms: number, task: () => Promise<void>): () => void {
    const entry = { ms, task };
    this.#pending.add(entry);
    return () => this.#pending.delete(entry);
  }
  /** The delays of the tasks waiting, in the order they were set. */
  get pending(): readonly number[] {
    return [...this.#pending].map((entry) => entry.ms);
  }
  /** Runs every task waiting now, one after another. */
  async runAll(): Promise<void> {
    const due = [...this.#pending];
    this.#pending.clear();
    for (const entry of due) await entry.task();
  }
}

/** Ids that count up, so tests read them; secrets stay random. */
export class CountingRandom implements Random {
  #next: number;
  /** `start` keeps the ids of several instances on one database apart. */
  constructor(start = 1) {
    this.#next = start;
  }
  id(prefix: string): string {
    return `${prefix}_${String(this.#next++).padStart(6, "0")}`;
  }
  secret(bytes: number): string {
    return randomBytes(bytes).toString("base64url");
  }
}

/** An application over a real store, with a platform administrator and helpers to make callers. */
export interface Harness {
  readonly app: Application & { close(): Promise<void> };
  readonly store: Store;
  readonly clock: ManualClock;
  readonly context: Context;
  readonly admin: Caller;
  /** The sealer the application seals secrets with. */
  readonly sealer: SecretSealer;
  /**
   * Another application built from this harness's parts (clock, sealer, verifiers, settings)
   * over `parts.store`, as a second server instance would be; `parts` overrides any of them.
   * Its random source is its own, so that the ids of two instances on one database stay apart.
   */
  application(
    parts: Pick<ApplicationParts, "store" | "random"> & Partial<ApplicationParts>,
  ): Application & { close(): Promise<void> };
  /** A caller holding `roles` in `tenants`, authenticated through a real API key. */
  caller(roles: readonly Role[], tenants: "all" | readonly string[]): Promise<Caller>;
  close(): Promise<void>;
}

/** Opens a harness over SQLite (in memory unless `url` or `store` says otherwise). */
export async function openHarness(
  options: {
    url?: string;
    /** An open store to use instead of opening `url`; the harness closes it. */
    store?: Store;
    settings?: AppSettings;
    federation?: Partial<FederationParts>;
    /** WebAuthn parts; by default the real verifier and the federation's public URL. */
    webauthn?: WebAuthnParts;
  } = {},
): Promise<Harness> {
  const store = options.store ?? (await openStore(options.url ?? "sqlite::memory:"));
  const clock = new ManualClock();
  const random = new CountingRandom();
  const context: Context = { store, clock, random, settings: options.settings ?? DEFAULT_SETTINGS };
  const federation = testFederationParts(options.federation);
  const parts: ApplicationParts = {
    ...context,
    federation,
    secrets: federation.secrets,
    totp: createTotpProtocol(),
    recoveryCodeHasher: testRecoveryCodeHasher,
    tokenSigner: createJoseTokenSigner(),
    webauthn: options.webauthn ?? {
      protocol: createWebAuthnProtocol(),
      publicUrl: federation.publicUrl,
    },
  };
  const app = createApplication(parts);
  const { secret } = await bootstrapPlatformAdmin(context, { name: "test admin" });
  const admin = await app.authenticate(secret);
  return {
    app,
    store,
    clock,
    context,
    admin,
    sealer: federation.secrets,
    application: (overrides) => createApplication({ ...parts, ...overrides }),
    async caller(roles, tenants) {
      const { secret: key } = await app.apiKeys.create(admin, {
        name: roles.join("+"),
        roles,
        tenants,
      });
      return app.authenticate(key);
    },
    async close() {
      await app.close();
      await store.close();
    },
  };
}
