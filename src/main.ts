/**
 * The composition root: the one place that wires the adapters (store, clock, randomness, HTTP)
 * to the application. `tenant-mfa serve` calls {@link startServer}.
 */
import { createJoseTokenSigner } from "./tokens/jose-token-signer.js";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { bootstrapPlatformAdmin } from "./app/api-keys/api-keys.js";
import type { Application } from "./app/application.js";
import {
  describeMissingKeys,
  findMissingSealingKeys,
  type MissingSealingKey,
} from "./app/secrets/missing-sealing-keys.js";
import { resealSecrets, type ResealReport } from "./app/secrets/reseal-secrets.js";
import {
  listUnopenableSigningKeys,
  withdrawUnopenableSigningKey,
  type UnopenableSigningKey,
} from "./app/assurance/withdraw-signing-key.js";
import { DEFAULT_TOTP_SETTINGS, type Context } from "./app/context.js";
import { AppError } from "./app/errors.js";
import { createApplication } from "./app/create-application.js";
import type { Clock, Random, SecretSealer, Store } from "./app/ports.js";
import type { ApiKeyRecord } from "./app/records.js";
import type { Config } from "./config/config-schema.js";
import { metricsExposureWarning } from "./config/metrics-exposure-warning.js";
import { plainHttpWarning } from "./config/plain-http-warning.js";
import { findUnknownVariables, unknownVariableWarning } from "./config/unknown-variables.js";
import { buildServer, createLogger } from "./http/build-server.js";
import { countAuditAppends, createMetrics, type Metrics } from "./http/metrics.js";
import { openStore } from "./storage/open-store.js";
import { describeStoreUrl } from "./storage/store-url.js";
import type { FederationParts } from "./app/federation/endpoints.js";
import { createAesGcmSealer, type SealingKey } from "./secrets/aes-gcm-sealer.js";
import { createScryptHasher } from "./secrets/scrypt-hasher.js";
import { decodeKeys, keyFromFile } from "./secrets/sealing-keys.js";
import { anyNetworkFetch, createOidcProtocol, publicNetworkFetch } from "./verifiers/oidc/index.js";
import type { OidcProtocolOptions } from "./verifiers/oidc/index.js";
import { createSamlProtocol } from "./verifiers/saml/index.js";
import { createTotpProtocol } from "./verifiers/totp/index.js";
import {
  createWebAuthnProtocol,
  loadWebAuthnCeremonies,
  defaultVerificationThreads,
  startVerificationThreads,
} from "./verifiers/webauthn/index.js";

/** The wall clock. */
export const systemClock: Clock = { now: () => new Date() };

/** Random bytes for ids, drawn from the CSPRNG 4 KiB at a time: one call per 409 ids, not one each. */
const ID_POOL_BYTES = 4096;
const ID_RANDOM_BYTES = 10;
let idPool = Buffer.alloc(0);
let idPoolOffset = 0;

function idRandomHex(): string {
  if (idPoolOffset + ID_RANDOM_BYTES > idPool.length) {
    idPool = randomBytes(ID_POOL_BYTES);
    idPoolOffset = 0;
  }
  const hex = idPool.toString("hex", idPoolOffset, idPoolOffset + ID_RANDOM_BYTES);
  idPoolOffset += ID_RANDOM_BYTES;
  return hex;
}

/**
 * Ids and secrets from the operating system's CSPRNG. Ids start with the time in base 36, so
 * they sort in creation order, then 80 random bits. Ids are not secrets, so their bytes may come
 * from a pool; secrets are drawn on their own, never kept in memory beside other values.
 */
export const cryptoRandom: Random = {
  id: (prefix) => `${prefix}_${Date.now().toString(36).padStart(9, "0")}${idRandomHex()}`,
  secret: (bytes) => randomBytes(bytes).toString("base64url"),
};

/** The application over an open store, and what only an operator with store access may do. */
export interface OpenedApplication {
  readonly app: Application;
  readonly store: Store;
  /** Creates a platform administrator key (the first one, unless `force`). */
  bootstrap(options: {
    name: string;
    holder?: string;
    force?: boolean;
  }): Promise<{ key: ApiKeyRecord; secret: string }>;
  /**
   * Re-seals every sealed secret (TOTP secrets, OIDC client secrets, pending sign-ins' PKCE
   * verifiers, signing keys) with the first configured key (key rotation); throws
   * `authenticator.not_configured` when no keys are configured. A value that no configured key
   * opens is left as it was and listed in the report's `unopened`; every other is re-sealed.
   */
  resealSecrets(actor: string): Promise<ResealReport>;
  /**
   * The assurance-token signing keys whose private part no configured key opens; throws
   * `assurance.not_configured` when no keys are configured (none could be told apart).
   */
  listUnopenableSigningKeys(): Promise<readonly UnopenableSigningKey[]>;
  /**
   * Withdraws one of them (audited `signing_key.withdrawn`), so that the key it was sealed with
   * can be dropped; refuses one that opens (`signing_key.opens`).
   */
  withdrawSigningKey(kid: string, actor: string): Promise<UnopenableSigningKey>;
  close(): Promise<void>;
}

/** Where the keys the server opens sealed secrets with come from. */
type Keyring =
  | { readonly from: "configuration" }
  | { readonly from: "key file"; readonly keyFile: string; readonly keyId: string }
  | { readonly from: "nowhere" };

/**
 * The store holds secrets sealed with keys that the server is not given: {@link openApplication}
 * refuses to open it, naming each missing key and how many values of each kind it seals. Started
 * anyway, the server would answer `secret.unavailable` (503) at the first use of each (a TOTP
 * verification, an OIDC sign-in, every assurance token and the JWKS), and go on sealing new
 * secrets beside them.
 */
export class SealingKeysMissing extends Error {
  readonly missing: readonly MissingSealingKey[];
  constructor(
    db: string,
    missing: readonly MissingSealingKey[],
    keyring: Keyring,
    message = missingKeysMessage(db, missing, keyring),
  ) {
    super(message);
    this.name = "SealingKeysMissing";
    this.missing = missing;
  }
}

/**
 * A SQLite store holds sealed secrets, and the key file beside it that sealed them is gone:
 * {@link openApplication} refuses to make a new key in its place.
 */
export class SealingKeyFileMissing extends SealingKeysMissing {
  constructor(db: string, keyFile: string, missing: readonly MissingSealingKey[]) {
    super(
      db,
      missing,
      { from: "nowhere" },
      `the store ${describeStoreUrl(db)} holds secrets sealed with the key in ${keyFile}, which is missing: restore that file (or configure the keys that sealed them in encryptionKeys). No new key was made. Sealed with: ${describeMissingKeys(missing)}.`,
    );
    this.name = "SealingKeyFileMissing";
  }
}

function missingKeysMessage(
  db: string,
  missing: readonly MissingSealingKey[],
  keyring: Keyring,
): string {
  const store = `the store ${describeStoreUrl(db)} holds secrets sealed with`;
  const keys = describeMissingKeys(missing);
  // A signing key is kept for good: lost with its key, only withdrawing it lets that key go.
  const withdraw = missing.some(({ seals }) => seals.some(({ kind }) => kind === "signing_key"))
    ? " A signing key sealed with a key that is lost for good can be withdrawn instead (`tenant-mfa keys withdraw` lists them)."
    : "";
  switch (keyring.from) {
    case "configuration":
      return `${store} keys that are not among the configured encryptionKeys: ${keys}. Configure each again (in encryptionKeys, after the key that seals), run \`tenant-mfa secrets reseal\`, and only then drop it. Nothing was changed.${withdraw}`;
    case "key file":
      return `${store} keys other than ${keyring.keyId}, the one in ${keyring.keyFile}: ${keys}. Restore the key file that held them (or configure them in encryptionKeys). Nothing was changed.${withdraw}`;
    case "nowhere":
      return `${store} keys, and no encryptionKeys are configured: ${keys}. Configure the keys that sealed them in encryptionKeys. Nothing was changed.`;
  }
}

/** How {@link openApplication} departs from production defaults; `serve --demo` only. */
export interface OpenOptions {
  /**
   * Accept OpenID Connect IdPs over plain http when they are on loopback (the demo's development
   * IdP at `http://localhost:8082`); https stays required for every other host.
   */
  readonly allowLoopbackHttpIdps?: boolean;
  /**
   * The store is only read (`audit verify`): it is opened read-only (`OpenStoreOptions.readOnly`:
   * the database refuses every write, no migration runs), and no key file is made beside a
   * SQLite store that has none (secrets then stay sealed: nothing that reads them works).
   */
  readonly readOnly?: boolean;
  /**
   * Open a store holding values sealed with keys that are not given, rather than refuse it
   * (`keys withdraw`, the way out for a signing key that no key opens): none of those values
   * opens, and no key file is made beside a SQLite store whose file is gone.
   */
  readonly acceptMissingSealingKeys?: boolean;
  /**
   * How long one statement of the store's PostgreSQL pool may run (`OpenStoreOptions`): the
   * server's `store.statementTimeoutMs`, which {@link startServer} passes. None otherwise: the
   * CLI's commands (`audit verify` reads every chain, `secrets reseal` every secret) are the
   * operator's, at a terminal, and must not be cut short by the server's limit.
   */
  readonly statementTimeoutMs?: number;
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** OIDC options that let plain http through to loopback hosts and nowhere else. */
const loopbackHttpOidc: OidcProtocolOptions = {
  allowHttp: true,
  fetch: (input, init) => {
    const url = new URL(input);
    if (url.protocol === "http:" && !LOOPBACK_HOSTS.has(url.hostname)) {
      return Promise.reject(
        new TypeError(`plain http is allowed on loopback only, not ${url.host}`),
      );
    }
    return fetch(input, init);
  },
};

/** Opens (and migrates) the store of `config.db` and builds the application over it. */
export async function openApplication(
  config: Pick<Config, "db" | "exemptions"> &
    Partial<
      Pick<
        Config,
        | "encryptionKeys"
        | "publicUrl"
        | "host"
        | "port"
        | "decisions"
        | "idpNetwork"
        | "oidc"
        | "webauthn"
        | "totp"
      >
    >,
  metrics?: Metrics,
  options: OpenOptions = {},
): Promise<OpenedApplication> {
  // Before the store: keys that cannot work (a wrong size, a repeated id) refuse to start, and
  // leave no store opened behind. A key file still to be made waits for the store (below).
  const keyFile = localKeyFile(config);
  const keyFileMissing = keyFile !== undefined && !existsSync(keyFile);
  let sealing = keyFileMissing ? undefined : secretSealer(config, options.readOnly === true);
  const opened = await openStore(config.db, {
    readOnly: options.readOnly === true,
    ...(options.statementTimeoutMs === undefined
      ? {}
      : { statementTimeoutMs: options.statementTimeoutMs }),
  });
  if (options.readOnly !== true) {
    // Every value sealed in the store must open with the keys at hand: a server started without
    // one would answer `secret.unavailable` at the first use of each, and go on sealing new
    // secrets beside them. A new key file for a store holding secrets sealed with another (its
    // file lost in a backup or a move) would, besides, seal with a key that restoring the real
    // file would then lose.
    try {
      const missing = await findMissingSealingKeys(
        opened,
        sealing?.keyIds ?? [],
        systemClock.now(),
        (config.totp ?? DEFAULT_TOTP_SETTINGS).enrolmentTtlSeconds,
      );
      if (missing.length > 0 && options.acceptMissingSealingKeys !== true) {
        if (keyFileMissing) throw new SealingKeyFileMissing(config.db, keyFile, missing);
        throw new SealingKeysMissing(config.db, missing, keyringOf(config, keyFile, sealing));
      }
      if (keyFileMissing && missing.length === 0) sealing = secretSealer(config, false);
    } catch (error) {
      await opened.close();
      throw error;
    }
  }
  const secrets = sealing?.sealer;
  const store = metrics === undefined ? opened : countAuditAppends(opened, metrics);
  const context: Context = {
    store,
    clock: systemClock,
    random: cryptoRandom,
    settings: {
      exemptions: { ...config.exemptions },
      ...(config.totp === undefined ? {} : { totp: { ...config.totp } }),
      ...(config.decisions === undefined ? {} : { decisions: { ...config.decisions } }),
    },
  };
  const federation = secrets === undefined ? undefined : federationParts(config, secrets, options);
  const threads = config.webauthn?.verificationThreads ?? defaultVerificationThreads();
  const verificationThreads = threads === 0 ? undefined : startVerificationThreads({ threads });
  const app = createApplication({
    ...context,
    ...(secrets === undefined ? {} : { secrets }),
    totp: createTotpProtocol(),
    recoveryCodeHasher: createScryptHasher(),
    tokenSigner: createJoseTokenSigner(),
    // Tenants without WebAuthn settings default to the configured public URL (not the address
    // the server listens on, which is rarely what browsers see and may be an IP address).
    webauthn: {
      protocol: createWebAuthnProtocol({
        attestationRoots: config.webauthn?.attestationRoots ?? [],
        ...(verificationThreads === undefined ? {} : { verificationThreads }),
      }),
      ...(config.publicUrl === undefined ? {} : { publicUrl: config.publicUrl }),
    },
    ...(federation === undefined ? {} : { federation: federation.parts }),
    publicUrl: publicUrlOf(config),
  });
  return {
    app,
    store,
    bootstrap: (options) => bootstrapPlatformAdmin(context, options),
    resealSecrets: (actor) => {
      if (secrets === undefined) throw new AppError("authenticator.not_configured");
      return resealSecrets(context, secrets, actor);
    },
    listUnopenableSigningKeys: () => {
      if (secrets === undefined) throw new AppError("assurance.not_configured");
      return listUnopenableSigningKeys(context, secrets);
    },
    withdrawSigningKey: (kid, actor) => {
      if (secrets === undefined) throw new AppError("assurance.not_configured");
      return withdrawUnopenableSigningKey(context, secrets, kid, actor);
    },
    async close() {
      try {
        // Before the store closes: what the application holds in memory is recorded in it.
        await app.close();
        await federation?.close();
      } finally {
        await verificationThreads?.close();
        await opened.close();
      }
    },
  };
}

/** The server's public base URL: configured, or where it listens. */
export function publicUrlOf(config: Partial<Pick<Config, "publicUrl" | "host" | "port">>): string {
  const name = config.host ?? "127.0.0.1";
  const host = name.includes(":") ? `[${name}]` : name;
  return config.publicUrl ?? `http://${host}:${String(config.port ?? 8080)}`;
}

/**
 * The sealer of secrets at rest (TOTP seeds, client secrets), from the configured keys. Without
 * configured keys, the embedded SQLite store keeps a generated key beside its database (an
 * in-memory store, a key in memory); several servers sharing PostgreSQL need the same configured
 * keys, so there federation and platform authenticators stay off until they are given.
 */
function secretSealer(
  config: Pick<Config, "db"> & Partial<Pick<Config, "encryptionKeys">>,
  readOnly = false,
): { readonly sealer: SecretSealer; readonly keyIds: readonly string[] } | undefined {
  let keys: SealingKey[];
  if (config.encryptionKeys !== undefined && config.encryptionKeys.length > 0) {
    keys = decodeKeys(config.encryptionKeys);
  } else if (config.db === "sqlite::memory:") {
    keys = [{ id: "memory", key: randomBytes(32) }];
  } else if (config.db.startsWith("sqlite:")) {
    const file = localKeyFile(config) ?? "";
    if (readOnly && !existsSync(file)) return undefined;
    keys = [keyFromFile(file)];
  } else {
    return undefined;
  }
  return { sealer: createAesGcmSealer(keys), keyIds: keys.map((key) => key.id) };
}

/** Where the keys of `sealing` came from, for the message that names the ones missing. */
function keyringOf(
  config: Partial<Pick<Config, "encryptionKeys">>,
  keyFile: string | undefined,
  sealing: { readonly keyIds: readonly string[] } | undefined,
): Keyring {
  if (config.encryptionKeys !== undefined && config.encryptionKeys.length > 0) {
    return { from: "configuration" };
  }
  const keyId = sealing?.keyIds[0];
  return keyFile === undefined || keyId === undefined
    ? { from: "nowhere" }
    : { from: "key file", keyFile, keyId };
}

/**
 * The file the sealing key is kept in (beside a SQLite store's database) when no keys are
 * configured; undefined when keys are configured, or the store is in memory or PostgreSQL.
 */
export function localKeyFile(
  config: Pick<Config, "db"> & Partial<Pick<Config, "encryptionKeys">>,
): string | undefined {
  if (config.encryptionKeys !== undefined && config.encryptionKeys.length > 0) return undefined;
  if (config.db === "sqlite::memory:" || !config.db.startsWith("sqlite:")) return undefined;
  return join(dirname(config.db.slice("sqlite:".length)), "encryption-key.json");
}

/**
 * SAML and OIDC sign-in, with secrets sealed by `secrets`, and the end of the connections they
 * keep open (the application's `close` calls it).
 */
function federationParts(
  config: Partial<Pick<Config, "publicUrl" | "host" | "port" | "idpNetwork" | "oidc">>,
  secrets: SecretSealer,
  options: OpenOptions = {},
): { parts: FederationParts; close(): Promise<void> } {
  // Tenants' IdPs are reached on the public internet only, unless the operator allows `any`
  // network; the demo's loopback mode reaches its own IdP on loopback.
  const loopback = options.allowLoopbackHttpIdps === true;
  // Either way, IdP host names are looked up in turn, `oidc.lookupSlots` at once (by default
  // half of libuv's thread pool).
  const lookups = config.oidc === undefined ? {} : { lookupSlots: config.oidc.lookupSlots };
  const idpFetch = loopback
    ? undefined
    : config.idpNetwork === "any"
      ? anyNetworkFetch(lookups)
      : publicNetworkFetch(lookups);
  const network: OidcProtocolOptions =
    idpFetch === undefined ? loopbackHttpOidc : { fetch: idpFetch };
  const oidc: OidcProtocolOptions =
    config.oidc === undefined ? network : { ...network, cacheMaxBytes: config.oidc.cacheMaxBytes };
  return {
    parts: {
      secrets,
      saml: createSamlProtocol(),
      oidc: createOidcProtocol(oidc),
      publicUrl: publicUrlOf(config),
    },
    close: async () => {
      await idpFetch?.close();
    },
  };
}

/** A listening server. */
export interface RunningServer {
  readonly server: FastifyInstance;
  readonly opened: OpenedApplication;
  /** `http://host:port` as bound (the port is the real one when 0 was asked). */
  readonly url: string;
  /** Stops accepting, lets in-flight requests finish, then closes the store. */
  close(): Promise<void>;
}

/** Options of {@link startServer}. */
export interface StartOptions {
  /** Runs after the store is open and before the server listens (demo data, say). */
  readonly seed?: (opened: OpenedApplication) => Promise<void>;
  /** Close gracefully on SIGINT and SIGTERM (default true). Tests pass false. */
  readonly handleSignals?: boolean;
  /** See {@link OpenOptions}. */
  readonly allowLoopbackHttpIdps?: boolean;
  /**
   * The environment the configuration was read from: each `TENANT_MFA_*` variable in it that
   * nothing reads (a typo, which leaves its setting at the default) is warned about at start, by
   * name, never with its value.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where the server logs; by default JSON lines on standard output at `config.logLevel`. */
  readonly logger?: Logger;
}

/** Opens the store, builds the application and the HTTP server, and listens. */
export async function startServer(
  config: Config,
  options: StartOptions = {},
): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  // Before the store is opened: a mistyped store URL or key list explains what follows.
  for (const unknown of findUnknownVariables(options.env ?? {})) {
    logger.warn(
      { variable: unknown.name, suggestion: unknown.suggestion },
      unknownVariableWarning(unknown),
    );
  }
  const metrics = createMetrics({ defaults: true });
  // Under way while the store opens; awaited before listening, so that no request waits for it.
  const ceremoniesLoading = loadWebAuthnCeremonies();
  // Observed here too, for a start that fails before awaiting it (the store unreachable).
  ceremoniesLoading.catch(() => undefined);
  const opened = await openApplication(config, metrics, {
    ...options,
    statementTimeoutMs: config.store.statementTimeoutMs,
  });
  let server: FastifyInstance | undefined;
  try {
    if (options.seed !== undefined) await options.seed(opened);
    server = buildServer({
      app: opened.app,
      config: { ...config, publicUrl: publicUrlOf(config) },
      logger,
      metrics,
    });
    await ceremoniesLoading;
    await server.listen({ port: config.port, host: config.host });
  } catch (error) {
    await server?.close();
    await opened.close();
    throw error;
  }
  const listening = server;
  const warning = plainHttpWarning(publicUrlOf(config));
  if (warning !== undefined) logger.warn({ publicUrl: publicUrlOf(config) }, warning);
  const metricsWarning = metricsExposureWarning(config);
  if (metricsWarning !== undefined) logger.warn({ host: config.host }, metricsWarning);
  const address = listening.server.address();
  const port = typeof address === "object" && address !== null ? address.port : config.port;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      await listening.close();
      await opened.close();
    })();
    return closing;
  };
  function onSignal(signal: NodeJS.Signals) {
    if (closing !== undefined) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    logger.info({ signal }, "shutting down");
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  }
  if (options.handleSignals !== false) {
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }
  return { server: listening, opened, url: `http://${host}:${port}`, close };
}
