import { readFileSync } from "node:fs";
import type { z } from "zod";
import { configSchema, type Config } from "./config-schema.js";

/** The configuration is not valid: `problems` lists every bad key, one line each. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

type Kind = "string" | "integer" | "proxies" | "json";

/** Every key that the environment (and the command line, as text) can set. */
export const SETTABLE: readonly { path: readonly string[]; env: string; kind: Kind }[] = [
  { path: ["db"], env: "TENANT_MFA_DB", kind: "string" },
  { path: ["port"], env: "TENANT_MFA_PORT", kind: "integer" },
  { path: ["host"], env: "TENANT_MFA_HOST", kind: "string" },
  { path: ["logLevel"], env: "TENANT_MFA_LOG_LEVEL", kind: "string" },
  { path: ["bodyLimitBytes"], env: "TENANT_MFA_BODY_LIMIT_BYTES", kind: "integer" },
  { path: ["trustProxy"], env: "TENANT_MFA_TRUST_PROXY", kind: "proxies" },
  { path: ["idpNetwork"], env: "TENANT_MFA_IDP_NETWORK", kind: "string" },
  { path: ["oidc", "cacheMaxBytes"], env: "TENANT_MFA_OIDC_CACHE_MAX_BYTES", kind: "integer" },
  { path: ["oidc", "lookupSlots"], env: "TENANT_MFA_OIDC_LOOKUP_SLOTS", kind: "integer" },
  { path: ["publicUrl"], env: "TENANT_MFA_PUBLIC_URL", kind: "string" },
  { path: ["exemptions", "maxDays"], env: "TENANT_MFA_EXEMPTIONS_MAX_DAYS", kind: "integer" },
  {
    path: ["exemptions", "breakGlassMaxDays"],
    env: "TENANT_MFA_EXEMPTIONS_BREAK_GLASS_MAX_DAYS",
    kind: "integer",
  },
  {
    path: ["exemptions", "maxRenewals"],
    env: "TENANT_MFA_EXEMPTIONS_MAX_RENEWALS",
    kind: "integer",
  },
  {
    path: ["exemptions", "maxActivePerTenant"],
    env: "TENANT_MFA_EXEMPTIONS_MAX_ACTIVE_PER_TENANT",
    kind: "integer",
  },
  {
    path: ["exemptions", "maxLeadDays"],
    env: "TENANT_MFA_EXEMPTIONS_MAX_LEAD_DAYS",
    kind: "integer",
  },
  { path: ["rateLimit", "enabled"], env: "TENANT_MFA_RATE_LIMIT_ENABLED", kind: "json" },
  { path: ["rateLimit", "max"], env: "TENANT_MFA_RATE_LIMIT_MAX", kind: "integer" },
  {
    path: ["rateLimit", "windowSeconds"],
    env: "TENANT_MFA_RATE_LIMIT_WINDOW_SECONDS",
    kind: "integer",
  },
  {
    path: ["rateLimit", "maxAddresses"],
    env: "TENANT_MFA_RATE_LIMIT_MAX_ADDRESSES",
    kind: "integer",
  },
  {
    path: ["decisions", "requireVerifiedEvidence"],
    env: "TENANT_MFA_DECISIONS_REQUIRE_VERIFIED_EVIDENCE",
    kind: "json",
  },
  {
    path: ["totp", "enrolmentTtlSeconds"],
    env: "TENANT_MFA_TOTP_ENROLMENT_TTL_SECONDS",
    kind: "integer",
  },
  {
    path: ["store", "statementTimeoutMs"],
    env: "TENANT_MFA_STORE_STATEMENT_TIMEOUT_MS",
    kind: "integer",
  },
  { path: ["encryptionKeys"], env: "TENANT_MFA_ENCRYPTION_KEYS", kind: "json" },
  { path: ["metrics", "token"], env: "TENANT_MFA_METRICS_TOKEN", kind: "string" },
  {
    path: ["webauthn", "attestationRoots"],
    env: "TENANT_MFA_WEBAUTHN_ATTESTATION_ROOTS",
    kind: "json",
  },
  {
    path: ["webauthn", "verificationThreads"],
    env: "TENANT_MFA_WEBAUTHN_VERIFICATION_THREADS",
    kind: "integer",
  },
];

/** The names of the environment variables the server reads (`TENANT_MFA_DB` and the others). */
export const SERVER_VARIABLES: readonly string[] = SETTABLE.map((key) => key.env);

/** Where the configuration comes from; later sources win. */
export interface ConfigSources {
  /** A JSON file; unknown keys in it are errors. */
  readonly file?: string;
  /** The process environment (`TENANT_MFA_*`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Values from the command line, by key (`{ port: "8081", db: "sqlite::memory:" }`, nested
   * for `exemptions`). Text is read like an environment variable of the same key.
   */
  readonly overrides?: Readonly<Record<string, unknown>>;
}

type Layer = Record<string, unknown>;

/**
 * Reads the configuration file (if any), then the environment, then the command-line overrides,
 * validates the result once, and returns it deep-frozen. Throws {@link ConfigError} listing every
 * problem, each naming its key and where the bad value came from.
 */
export function loadConfig(sources: ConfigSources): Config {
  const problems: string[] = [];
  const origins = new Map<string, string>();
  const merged: Layer = {};

  if (sources.file !== undefined) {
    const fromFile = readConfigFile(sources.file, problems);
    if (fromFile !== undefined) mergeInto(merged, fromFile, [], origins, `file ${sources.file}`);
  }

  const fromEnv: Layer = {};
  for (const key of SETTABLE) {
    const raw = sources.env[key.env];
    if (raw === undefined || raw === "") continue;
    setAt(fromEnv, key.path, coerce(key.kind, raw));
    origins.set(key.path.join("."), key.env);
  }
  mergeInto(merged, fromEnv, [], new Map(), "");

  if (sources.overrides !== undefined) {
    const fromCli: Layer = {};
    collectOverrides(sources.overrides, [], fromCli);
    mergeInto(merged, fromCli, [], origins, "command line");
  }

  const result = configSchema.safeParse(merged);
  if (!result.success) problems.push(...describeIssues(result.error.issues, origins));
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return deepFreeze(result.data);
}

function readConfigFile(file: string, problems: string[]): Layer | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    problems.push(
      `config file ${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"})`,
    );
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    problems.push(`config file ${file}: not valid JSON (${jsonErrorWithoutText(error, text)})`);
    return undefined;
  }
  if (!isPlainObject(parsed)) {
    problems.push(`config file ${file}: expected a JSON object`);
    return undefined;
  }
  return parsed;
}

/**
 * Why `text` is not JSON (by line and column where V8 gives the position), without the excerpt
 * of the file that V8 quotes in some messages (`Unexpected token 'p', "{"db": postgres:/"... is
 * not valid JSON`): a config file holds the store's URL with its password, and the message goes
 * to logs and terminals.
 */
function jsonErrorWithoutText(error: unknown, text: string): string {
  const message = error instanceof Error ? error.message : "";
  const position = /at position (\d+)/.exec(message)?.[1];
  const reason = message.split(/[,'"]| in JSON/, 1)[0]?.trim() ?? "";
  if (position === undefined) return reason === "" ? "unreadable" : reason;
  const before = text.slice(0, Number(position)).split("\n");
  const column = (before.at(-1)?.length ?? 0) + 1;
  return `${reason} at line ${String(before.length)}, column ${String(column)}`;
}

function collectOverrides(source: Readonly<Record<string, unknown>>, at: string[], into: Layer) {
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined) continue;
    const path = [...at, key];
    if (isPlainObject(value)) {
      collectOverrides(value, path, into);
      continue;
    }
    const settable = SETTABLE.find((s) => s.path.join(".") === path.join("."));
    setAt(into, path, typeof value === "string" && settable ? coerce(settable.kind, value) : value);
  }
}

/** Reads a text value as its key's type; leaves it as text when it is not, for the schema to name. */
function coerce(kind: Kind, raw: string): unknown {
  const text = raw.trim();
  switch (kind) {
    case "string":
      return raw;
    case "integer":
      return /^-?\d+$/.test(text) ? Number(text) : raw;
    case "proxies":
      // `false`, or addresses separated by commas. `true` and numbers (`true`, `yes` and `1` once
      // meant "believe every entry") are passed on for the schema to refuse with its reason.
      if (/^(false|0|no)$/i.test(text)) return false;
      if (/^(true|yes)$/i.test(text)) return true;
      if (/^\d+$/.test(text)) return Number(text);
      return text
        .split(",")
        .map((entry) => entry.trim())
        .filter((entry) => entry !== "");
    case "json":
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return raw;
      }
  }
}

function mergeInto(
  target: Layer,
  source: Layer,
  at: readonly string[],
  origins: Map<string, string>,
  label: string,
): void {
  for (const [key, value] of Object.entries(source)) {
    const path = [...at, key];
    const existing = target[key];
    if (isPlainObject(value) && isPlainObject(existing)) {
      mergeInto(existing, value, path, origins, label);
      continue;
    }
    target[key] = isPlainObject(value) ? structuredClone(value) : value;
    if (label !== "") markOrigin(origins, path, value, label);
  }
}

function markOrigin(origins: Map<string, string>, path: string[], value: unknown, label: string) {
  origins.set(path.join("."), label);
  if (isPlainObject(value)) {
    for (const [key, inner] of Object.entries(value))
      markOrigin(origins, [...path, key], inner, label);
  }
}

function setAt(target: Layer, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (isPlainObject(next)) node = next;
    else {
      const created: Layer = {};
      node[key] = created;
      node = created;
    }
  }
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = value;
}

function describeIssues(issues: readonly z.core.$ZodIssue[], origins: Map<string, string>) {
  const lines: string[] = [];
  for (const issue of issues) {
    const path = issue.path.map(String);
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) lines.push(line([...path, key], "unknown key", origins));
    } else {
      lines.push(line(path, issue.message, origins));
    }
  }
  return lines;
}

function line(path: readonly string[], message: string, origins: Map<string, string>): string {
  const key = path.length === 0 ? "(root)" : path.join(".");
  let origin: string | undefined;
  for (let n = path.length; n > 0 && origin === undefined; n--)
    origin = origins.get(path.slice(0, n).join("."));
  return `${key}: ${message}${origin === undefined ? "" : ` (from ${origin})`}`;
}

function isPlainObject(value: unknown): value is Layer {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
