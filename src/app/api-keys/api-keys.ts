import { createHash } from "node:crypto";
import { parseTime, toCanonicalTime } from "../../core/time.js";
import { authorize } from "../access/permissions.js";
import type { Application, Caller } from "../application.js";
import { recordAudit, recordAuditAcross, transact, type Context } from "../context.js";
import { AppError } from "../errors.js";
import { requesterRevocationSweep } from "../exemptions/exemptions.js";
import { ROLES, type ApiKeyRecord, type Role } from "../records.js";
import type { Repositories } from "../ports.js";
import type { ApiKeyCache } from "./api-key-cache.js";

const KEY_PREFIX = "tmfa_";

/** SHA-256 of a secret, hex. Secrets are 256 random bits, so no slow hash is needed. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** Whether `key` authenticates at `now` (epoch ms): not revoked, and not expired. */
function isActive(key: ApiKeyRecord, now: number): boolean {
  return (
    key.revokedAt === undefined &&
    (key.expiresAt === undefined || now < (parseTime(key.expiresAt) ?? 0))
  );
}

/**
 * Resolves an API key secret to its caller, or throws `auth.invalid_credentials`. Keys come from
 * `keys` (a cache bounded to one second and emptied on every key change); expiry and revocation
 * are checked on every call.
 */
export async function authenticate(
  context: Context,
  keys: ApiKeyCache,
  secret: string,
): Promise<Caller> {
  if (!secret.startsWith(KEY_PREFIX)) throw new AppError("auth.invalid_credentials");
  const secretHash = hashSecret(secret);
  const key = await keys.get(secretHash, () =>
    transact(context, (r) => r.apiKeys.getBySecretHash(secretHash)),
  );
  if (key === undefined || !isActive(key, context.clock.now().getTime())) {
    throw new AppError("auth.invalid_credentials");
  }
  return {
    id: key.id,
    name: key.name,
    roles: key.roles,
    tenants: key.tenants,
    ...(key.holder === undefined ? {} : { holder: key.holder }),
    ...(key.audiences === undefined ? {} : { audiences: key.audiences }),
  };
}

/**
 * Audiences bound a `platform_service` key's assurance tokens (flow creation); on any other key
 * they would bind nothing, so asking for them is a mistake in the request.
 */
function checkAudiences(roles: readonly Role[], audiences: readonly string[] | undefined): void {
  if (audiences === undefined) return;
  if (!roles.includes("platform_service")) {
    throw new AppError("request.invalid", "audiences apply only to platform_service keys.");
  }
  if (audiences.length === 0 || audiences.some((audience) => audience.length === 0)) {
    throw new AppError("request.invalid", "audiences must list at least one non-empty audience.");
  }
}

function checkScope(roles: readonly Role[], tenants: "all" | readonly string[]): void {
  if (roles.length === 0 || !roles.every((r) => (ROLES as readonly string[]).includes(r))) {
    throw new AppError("request.invalid", "roles must list known roles.");
  }
  if (roles.includes("platform_admin") && tenants !== "all") {
    throw new AppError("request.invalid", "A platform_admin key must reach all tenants.");
  }
  if (tenants !== "all" && tenants.length === 0) {
    throw new AppError("request.invalid", 'tenants must be "all" or list at least one tenant.');
  }
}

/**
 * A key's expiry in UTC, so that the key answered, stored and audited holds the same text
 * whatever offset the request used (DESIGN: times in ISO 8601 UTC everywhere).
 */
function checkExpiry(context: Context, value: string): string {
  const expiresAt = toCanonicalTime(value);
  if (expiresAt === undefined) {
    throw new AppError("request.invalid", "expiresAt must be an ISO 8601 time.");
  }
  // A key that is dead on arrival is a mistake in the request, never what was meant.
  if ((parseTime(expiresAt) ?? 0) <= context.clock.now().getTime()) {
    throw new AppError("request.invalid", "expiresAt must be in the future.");
  }
  return expiresAt;
}

/**
 * Creates a key and its audit event in one transaction. `guard`, when given, runs in that
 * transaction after the event is appended to the platform chain: the chain's head stays locked
 * until the commit (`AuditStore.append`), so every other issue waits for this one to end, and
 * what `guard` reads cannot change before the key is stored.
 */
async function issue(
  context: Context,
  createdBy: string,
  input: {
    name: string;
    roles: readonly Role[];
    tenants: "all" | readonly string[];
    expiresAt?: string;
    holder?: string;
    audiences?: readonly string[];
  },
  guard?: (r: Repositories) => Promise<void>,
): Promise<{ key: ApiKeyRecord; secret: string }> {
  checkScope(input.roles, input.tenants);
  checkAudiences(input.roles, input.audiences);
  const expiresAt =
    input.expiresAt === undefined ? undefined : checkExpiry(context, input.expiresAt);
  const secret = KEY_PREFIX + context.random.secret(32);
  const key: ApiKeyRecord = {
    id: context.random.id("key"),
    name: input.name,
    secretHash: hashSecret(secret),
    roles: [...new Set(input.roles)],
    tenants: input.tenants === "all" ? "all" : [...new Set(input.tenants)],
    createdAt: context.clock.now().toISOString(),
    createdBy,
    ...(expiresAt === undefined ? {} : { expiresAt }),
    ...(input.holder === undefined ? {} : { holder: input.holder }),
    ...(input.audiences === undefined ? {} : { audiences: [...new Set(input.audiences)] }),
  };
  await transact(context, async (r) => {
    // A key for a tenant id nobody holds yet would reach whoever creates that tenant later.
    if (key.tenants !== "all") {
      for (const tenant of key.tenants) {
        if ((await r.tenants.get(tenant)) === undefined) {
          throw new AppError("not_found", "tenants names a tenant that does not exist.", {
            tenant,
          });
        }
      }
    }
    await recordAudit(context, r, {
      tenant: null,
      type: "api_key.created",
      actor: createdBy,
      // The key's lifetime, so that an auditor sees how long it was meant to work.
      payload: {
        id: key.id,
        name: key.name,
        roles: key.roles,
        tenants: key.tenants,
        ...(key.expiresAt === undefined ? {} : { expiresAt: key.expiresAt }),
        ...(key.holder === undefined ? {} : { holder: key.holder }),
        ...(key.audiences === undefined ? {} : { audiences: key.audiences }),
      },
    });
    await guard?.(r);
    await r.apiKeys.insert(key);
  });
  return { key, secret };
}

/**
 * Creates the first platform administrator key, for `tenant-mfa bootstrap`. Refuses when an
 * active platform administrator key exists, unless `force`. The check and the insert are one
 * serialised step: of bootstraps run at once on one store, from any number of processes, one
 * creates the key and the others are refused.
 */
export async function bootstrapPlatformAdmin(
  context: Context,
  options: { name: string; holder?: string; force?: boolean },
): Promise<{ key: ApiKeyRecord; secret: string }> {
  const input = {
    name: options.name,
    ...(options.holder === undefined ? {} : { holder: options.holder }),
    roles: ["platform_admin"] as const,
    tenants: "all" as const,
  };
  if (options.force === true) return issue(context, "bootstrap", input);
  return issue(context, "bootstrap", input, async (r) => {
    const keys = await r.apiKeys.list();
    // Active as authentication judges it: an expired key lets nobody in, and a store whose
    // administrator keys have all expired has no administrator left to make another.
    const now = context.clock.now().getTime();
    if (keys.some((k) => k.roles.includes("platform_admin") && isActive(k, now))) {
      throw new AppError("bootstrap.exists");
    }
  });
}

/** API key management: platform administrators only. */
export function apiKeyUseCases(context: Context, keys: ApiKeyCache): Application["apiKeys"] {
  return {
    async create(caller, input) {
      authorize(caller, "api_key.manage");
      return issue(context, caller.id, input);
    },
    async list(caller) {
      authorize(caller, "api_key.manage");
      return transact(context, (r) => r.apiKeys.list());
    },
    async revoke(caller, id) {
      authorize(caller, "api_key.manage");
      await transact(context, async (r) => {
        if (!(await r.apiKeys.revoke(id, context.clock.now().toISOString()))) {
          throw new AppError("not_found");
        }
        // What the key filed and no one decided yet may be its thief's: it goes with the key.
        const withdrawn = await requesterRevocationSweep.revokeRows(context, r, caller, id);
        await recordAuditAcross(context, r, [
          {
            tenant: null,
            type: "api_key.revoked",
            actor: caller.id,
            payload: {
              id,
              ...(withdrawn.length === 0 ? {} : { withdrawnExemptions: withdrawn.length }),
            },
          },
          ...requesterRevocationSweep.entries(caller, withdrawn),
        ]);
        r.changes.announce({ kind: "api_key" });
      });
      // The notice reaches this instance's cache too, but with PostgreSQL only after a round
      // trip: a revocation must bind the instance that made it before it answers.
      keys.clear();
    },
  };
}
