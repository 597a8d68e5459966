import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { z } from "zod";

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const DB_URL = /^(sqlite:.+|postgres(ql)?:\/\/.+)$/;

const count = (what: string, min: number, max: number) => {
  const message = `expected ${what} between ${min} and ${max}`;
  return z.int({ error: message }).min(min, { error: message }).max(max, { error: message });
};

/** The names `@fastify/proxy-addr` gives to address ranges (loopback, link-local, private). */
const NAMED_RANGES = ["loopback", "linklocal", "uniquelocal"] as const;

/**
 * Whether `entry` is an address, a CIDR range (`address/prefix length`, the length from 1 to 32
 * or 128, as `@fastify/proxy-addr` takes it) or a named range. Node's parser is the stricter one
 * (no `010.0.0.1`, no `10.1`), so everything accepted here is accepted by Fastify too.
 */
function isProxyAddress(entry: string): boolean {
  if ((NAMED_RANGES as readonly string[]).includes(entry)) return true;
  const slash = entry.lastIndexOf("/");
  const version = isIP(slash === -1 ? entry : entry.slice(0, slash));
  if (version === 0) return false;
  if (slash === -1) return true;
  const prefix = entry.slice(slash + 1);
  return (
    /^\d{1,3}$/.test(prefix) && Number(prefix) >= 1 && Number(prefix) <= (version === 4 ? 32 : 128)
  );
}

// A custom check that does not abort, not `z.string()`: a union gives up on an option at its first
// aborting issue, and a list with one entry of the wrong type would be reported only as a whole.
const proxyAddress = z.custom<string>(
  (entry) => typeof entry === "string" && isProxyAddress(entry),
  {
    error: (issue) =>
      typeof issue.input === "string"
        ? `${JSON.stringify(issue.input)} is not an IP address, a CIDR range (address/prefix length) or one of ${NAMED_RANGES.join(", ")}`
        : "expected an IP address or CIDR range",
    abort: false,
  },
);

/**
 * Which peers may tell the client's address through `X-Forwarded-For`: `false`, or the proxies'
 * addresses and ranges. The client address is then the first untrusted one from the right.
 * `true` and hop counts are refused: the first believes every entry, leftmost included, which
 * the client writes; the second cannot tell a proxy from a client that reaches the server
 * directly, and Fastify no longer honours it (given one, it silently trusts nothing).
 */
const trustProxy = z.union(
  [
    z.literal(false),
    z
      .array(proxyAddress)
      .min(1, { error: "expected at least one proxy address (false trusts none)" }),
  ],
  {
    error: (issue) => {
      const instead =
        "list the addresses or CIDR ranges of the proxies in front of the server instead";
      if (issue.input === true)
        return `true would believe every X-Forwarded-For entry, which clients can forge: ${instead}`;
      if (typeof issue.input === "number")
        return `a hop count cannot tell a proxy from a client that reaches the server directly (Fastify no longer honours one): ${instead}`;
      return "expected false or a list of proxy addresses or CIDR ranges";
    },
  },
);

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Whether `entry` holds PEM certificates, or one certificate's DER in base64, all readable. */
function isCertificateText(entry: string): boolean {
  const der = entry.replace(/\s+/g, "");
  const certificates =
    entry.match(PEM_BLOCK) ??
    (/^[A-Za-z0-9+/]+={0,2}$/.test(der) ? [Buffer.from(der, "base64")] : []);
  try {
    for (const certificate of certificates) new X509Certificate(certificate);
  } catch {
    return false;
  }
  return certificates.length > 0;
}

const attestationRoot = z.custom<string>(
  (entry) => typeof entry === "string" && isCertificateText(entry),
  {
    error: () =>
      "expected PEM certificates, or one certificate's DER in base64 (as FIDO MDS lists attestationRootCertificates)",
    abort: false,
  },
);

/**
 * Whether an http(s) URL can be a base that paths are appended to: no query or fragment (even
 * empty: `?` and `#` alone end the path too) and no user-info (RFC 3986 §3.2.1: credentials in a
 * URL would be published in every endpoint built from it).
 */
function isBaseUrl(url: string): boolean {
  // Not a URL at all: the URL check above has said so already.
  if (!URL.canParse(url)) return true;
  const parsed = new URL(url);
  const authority = /^[a-z][a-z0-9+.-]*:[/\\]*([^/\\?#]*)/i.exec(url)?.[1] ?? "";
  return (
    !url.includes("?") &&
    !url.includes("#") &&
    parsed.username === "" &&
    parsed.password === "" &&
    !authority.includes("@")
  );
}

/**
 * Sealed values name their key by id, so two keys with one id cannot both be used: the sealer
 * would seal with the first and open with the other, and nothing sealed from then on would open.
 */
function refuseDuplicateKeyIds(keys: readonly unknown[], context: z.RefinementCtx): void {
  const firstIndex = new Map<string, number>();
  keys.forEach((key, index) => {
    const id = isPlainObject(key) ? key["id"] : undefined;
    if (typeof id !== "string" || id === "") return;
    const earlier = firstIndex.get(id);
    if (earlier === undefined) {
      firstIndex.set(id, index);
      return;
    }
    context.addIssue({
      code: "custom",
      path: [index, "id"],
      input: id,
      message: `${JSON.stringify(id)} is already the id of encryptionKeys.${earlier}: sealed values name their key by id, so each key needs its own`,
    });
  });
}

/**
 * Whether `key` is 32 bytes in base64 (padded or not; the URL-safe alphabet too), as the sealer
 * decodes it (`src/secrets/sealing-keys.ts`, which the configuration may not import). Checked
 * here so that a key that cannot seal is reported with every other problem, not when the store
 * is opened; and checked strictly, since Node's decoder skips characters outside the alphabet.
 */
function isSealingKey(key: string): boolean {
  return /^[A-Za-z0-9+/_-]{43}=?$/.test(key) && Buffer.from(key, "base64").length === 32;
}

/** RFC 6750 §2.1 `b64token`: what `Authorization: Bearer` can carry. */
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const BEARER_TOKEN_MESSAGE =
  "expected a bearer token: letters, digits and - . _ ~ + / (then = only)";

/** The shortest metrics token: 32 characters, as guessing one must be out of reach. */
export const MIN_METRICS_TOKEN_LENGTH = 32;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The server's configuration: one schema, read from a JSON file, the environment and the command
 * line (in that order of precedence, the last winning), validated once and then frozen.
 */
export const configSchema = z.strictObject({
  /** `sqlite:PATH`, `sqlite::memory:` or `postgres://…`. */
  db: z
    .string({ error: "expected a database URL" })
    .regex(DB_URL, { error: "expected sqlite:PATH, sqlite::memory: or postgres://…" })
    .default("sqlite:./data/tenant-mfa.db"),
  port: count("a number", 1, 65535).default(8080),
  host: z.string({ error: "expected a host name or address" }).min(1).default("127.0.0.1"),
  logLevel: z
    .enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(", ")}` })
    .default("info"),
  bodyLimitBytes: count("a number of bytes", 1024, 16 * 1024 * 1024).default(256 * 1024),
  /**
   * The proxies whose `X-Forwarded-For` (and `-Host`, `-Proto`) entries are believed: `false`
   * (none: the client is the TCP peer), or their addresses and CIDR ranges.
   */
  trustProxy: trustProxy.default(false),
  /**
   * Where tenants' OIDC IdPs may be reached: `public` (the default) refuses issuers and
   * endpoints that resolve to loopback, private, link-local or reserved addresses, so that a
   * tenant administrator cannot point this server's requests at its own network; `any` allows
   * them, for IdPs on a private network the platform reaches.
   */
  idpNetwork: z.enum(["public", "any"], { error: 'expected "public" or "any"' }).default("public"),
  oidc: z
    .strictObject({
      /**
       * The most bytes of OIDC discovery documents and key sets (their fetched bodies) the
       * process caches, over every issuer together: past it the least recently used issuer's are
       * dropped, and fetched again at its next sign-in. From 1 MiB, so that four issuers at the
       * 256 KiB answer limit always fit.
       */
      cacheMaxBytes: count("a number of bytes", 1024 * 1024, 1024 * 1024 * 1024).default(
        32 * 1024 * 1024,
      ),
      /**
       * How many IdP host names are looked up at once; the others wait their turn, within their
       * request's timeout. `dns.lookup` holds one of libuv's pool threads (4 unless
       * `UV_THREADPOOL_SIZE` says otherwise, shared with WebCrypto and fs) for as long as a name
       * server keeps it waiting: the default 2 leaves the other half to the rest of the server.
       * Raise it with `UV_THREADPOOL_SIZE`.
       */
      lookupSlots: count("a number of lookups", 1, 64).default(2),
    })
    .prefault({}),
  exemptions: z
    .strictObject({
      maxDays: count("a number of days", 1, 3650).default(90),
      breakGlassMaxDays: count("a number of days", 1, 3650).default(7),
      maxRenewals: count("a number", 0, 100).default(2),
      maxActivePerTenant: count("a number", 1, 1_000_000).default(100),
      maxLeadDays: count("a number of days", 0, 3650).default(30),
    })
    .prefault({}),
  /**
   * Requests per client address to the routes reached without an API key (federation, hosted
   * flows, the JWKS, the OpenAPI document), all together: 429 past `max` in a window. The `/v1`
   * API, the probes, the flow pages' assets and clients on internal networks (a proxy left out of
   * `trustProxy`) are never limited. Counted in each instance's memory: N instances behind a
   * balancer let an address send up to N times `max`.
   */
  rateLimit: z
    .strictObject({
      enabled: z.boolean({ error: "expected true or false" }).default(true),
      max: count("a number of requests", 1, 1_000_000).default(300),
      windowSeconds: count("a number of seconds", 1, 86_400).default(60),
      maxAddresses: count("a number of addresses", 1_000, 10_000_000).default(100_000),
    })
    .prefault({}),
  metrics: z
    .strictObject({
      /**
       * The bearer token `/metrics` requires (`Authorization: Bearer <token>`); without one it
       * answers anyone, as the probes do. The messages never quote it: it is a secret.
       */
      token: z
        .string({ error: BEARER_TOKEN_MESSAGE })
        .regex(BEARER_TOKEN, { error: BEARER_TOKEN_MESSAGE })
        .min(MIN_METRICS_TOKEN_LENGTH, {
          error: `expected at least ${String(MIN_METRICS_TOKEN_LENGTH)} characters (a random value: \`openssl rand -base64 32\`)`,
        })
        .optional(),
    })
    .prefault({}),
  webauthn: z
    .strictObject({
      /**
       * The roots that authenticator attestations must chain to for a WebAuthn credential to
       * count as attested hardware of the model it names: authenticator vendors' attestation
       * roots, as FIDO MDS lists them (`attestationRootCertificates`). Only attested,
       * device-bound credentials reach AAL3, and only with roots can a tenant restrict its
       * authenticator models. None by default: no credential is attested.
       */
      attestationRoots: z.array(attestationRoot).default([]),
      /**
       * The worker threads that check WebAuthn registrations and assertions, off the event
       * loop; 0 checks them on it. Default: one per core but one, 1 to 4 (see `defaultVerificationThreads`).
       */
      verificationThreads: count("a number of threads", 0, 64).optional(),
    })
    .prefault({}),
  store: z
    .strictObject({
      /**
       * How long one statement of the server's PostgreSQL pool may run before the database
       * cancels it and its request answers `503 store.unavailable`: a stuck query would
       * otherwise hold its pooled connection for as long as it runs. 0: no limit. Migrations and
       * the CLI's commands (`audit verify` reads every chain) run without it; SQLite has none.
       */
      statementTimeoutMs: count("a number of milliseconds", 0, 3_600_000).default(30_000),
    })
    .prefault({}),
  totp: z
    .strictObject({
      /**
       * How long after it began a pending TOTP enrolment may be confirmed; later it is refused
       * (`authenticator.enrolment_expired`) and removed.
       */
      enrolmentTtlSeconds: count("a number of seconds", 60, 3600).default(600),
    })
    .prefault({}),
  decisions: z
    .strictObject({
      /**
       * Refuse TOTP, WebAuthn and recovery-code evidence that names no verification done by
       * tenant-mfa's own authenticator API.
       */
      requireVerifiedEvidence: z.boolean({ error: "expected true or false" }).default(false),
    })
    .prefault({}),
  /**
   * The public base URL browsers and IdPs reach this server at (SAML entity ids, ACS and OIDC
   * redirect URIs derive from it). Default: `http://HOST:PORT`.
   */
  publicUrl: z
    .url({ protocol: /^https?$/, error: "expected an http(s) URL" })
    // Every endpoint and the token issuer are this with a path appended: a query or fragment
    // would swallow the path, and user-info would be published in every one of them.
    .refine(isBaseUrl, {
      error: "expected an http(s) base URL without query, fragment or user-info",
      abort: true,
    })
    .transform((url) => url.replace(/\/+$/, ""))
    .optional(),
  /**
   * Keys that encrypt secrets at rest (IdP client secrets, TOTP seeds), newest first: seal with
   * the first, open with any. Without them, the embedded SQLite store keeps a generated key in a
   * file beside the database; servers sharing PostgreSQL must all be given the same keys.
   */
  encryptionKeys: z
    .array(
      z.strictObject({
        // The sealed value reads `v1.<id>.<iv>.<body>`: an id holding a dot could not be read back.
        id: z.string({ error: "expected a key id" }).regex(/^[A-Za-z0-9_-]+$/, {
          error:
            "expected letters, digits, - and _ only: a sealed value names its key by id, between dots",
        }),
        // The message never quotes the value: it is a secret, and it goes to terminals and logs.
        key: z
          .string({ error: "expected a base64 key" })
          .min(1, { error: "expected a base64 key" })
          .refine(isSealingKey, {
            error:
              "expected 32 bytes in base64 (44 characters, as `openssl rand -base64 32` prints)",
          }),
      }),
    )
    // Also when another entry is bad, so that every problem is reported at once.
    .superRefine(refuseDuplicateKeyIds, { when: (payload) => Array.isArray(payload.value) })
    .optional(),
});

/** The deep-readonly view of a frozen value. */
export type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** The validated, frozen server configuration. */
export type Config = DeepReadonly<z.output<typeof configSchema>>;

/** What a configuration file, the environment or the command line may set. */
export type ConfigInput = z.input<typeof configSchema>;
