import { z } from "zod";

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const DB_URL = /^(sqlite:.+|postgres(ql)?:\/\/.+)$/;

const count = (what: string, min: number, max: number) => {
  const message = `expected ${what} between ${min} and ${max}`;
  return z.int({ error: message }).min(min, { error: message }).max(max, { error: message });
};

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
  /** Honour `X-Forwarded-For` and friends: only behind a proxy that sets them. */
  trustProxy: z.boolean({ error: "expected true or false" }).default(false),
  exemptions: z
    .strictObject({
      maxDays: count("a number of days", 1, 3650).default(90),
      breakGlassMaxDays: count("a number of days", 1, 3650).default(7),
      maxRenewals: count("a number", 0, 100).default(2),
      maxActivePerTenant: count("a number", 1, 1_000_000).default(100),
    })
    .prefault({}),
  /**
   * The public base URL browsers and IdPs reach this server at (SAML entity ids, ACS and OIDC
   * redirect URIs derive from it). Default: `http://HOST:PORT`.
   */
  publicUrl: z
    .url({ protocol: /^https?$/, error: "expected an http(s) URL" })
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
        id: z.string({ error: "expected a key id" }).min(1),
        key: z.string({ error: "expected a base64 key" }).min(1),
      }),
    )
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
