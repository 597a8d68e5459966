import type { Application, Caller } from "../app/application.js";
import { AppError } from "../app/errors.js";
import type { Role } from "../app/records.js";
import type { Population, Posture } from "../core/vocabulary.js";
import type { OpenedApplication } from "../main.js";

const RATIONALE = "Demo data (tenant-mfa serve --demo)";
const DAY = 24 * 3600 * 1000;

const TENANTS: readonly { id: string; name: string; posture: Posture }[] = [
  { id: "acme", name: "Acme Corporation", posture: "platform_mfa" },
  { id: "globex", name: "Globex", posture: "phishing_resistant" },
  { id: "initech", name: "Initech", posture: "idp_mfa" },
];

const PRINCIPALS: readonly {
  tenant: string;
  id: string;
  population: Population;
  displayName: string;
}[] = [
  { tenant: "acme", id: "alice", population: "direct", displayName: "Alice Ames" },
  { tenant: "acme", id: "breakglass", population: "direct", displayName: "Break-glass admin" },
  { tenant: "globex", id: "bob", population: "direct", displayName: "Bob Barnes" },
  { tenant: "initech", id: "carol", population: "sso", displayName: "Carol Cho" },
];

const KEYS: readonly {
  name: string;
  roles: readonly Role[];
  tenants: "all" | readonly string[];
}[] = [
  { name: "demo platform service", roles: ["platform_service"], tenants: "all" },
  { name: "demo acme admin", roles: ["tenant_admin"], tenants: ["acme"] },
  { name: "demo acme approver", roles: ["exemption_approver"], tenants: ["acme"] },
  { name: "demo acme auditor", roles: ["tenant_auditor"], tenants: ["acme"] },
];

/** An API key created by the seeding, with its secret (shown this once). */
export interface DemoKey {
  readonly name: string;
  readonly roles: readonly Role[];
  readonly tenants: "all" | readonly string[];
  readonly secret: string;
}

/** What one seeding run created; an empty result means the demo data was all there. */
export interface DemoSeed {
  readonly keys: readonly DemoKey[];
  readonly created: readonly string[];
}

const isNotFound = (error: unknown) => error instanceof AppError && error.code === "not_found";

async function exists(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

async function currentPolicy(app: Application, caller: Caller, tenant: string) {
  try {
    return (await app.policies.current(caller, tenant)).record;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * Creates the demo data through the use cases, as `caller` (a platform administrator): tenants
 * acme (platform MFA), globex (phishing-resistant) and initech (IdP MFA) with their policies,
 * a few principals, API keys for each role, and an approved break-glass exemption for
 * `acme/breakglass`. Idempotent: what exists is left alone, so a second run creates nothing.
 */
export async function seedDemoData(
  app: Application,
  caller: Caller,
  options: { now?: Date } = {},
): Promise<DemoSeed> {
  const now = options.now ?? new Date();
  const created: string[] = [];
  const keys: DemoKey[] = [];

  for (const tenant of TENANTS) {
    if (!(await exists(() => app.tenants.get(caller, tenant.id)))) {
      await app.tenants.create(caller, { id: tenant.id, name: tenant.name });
      created.push(`tenant ${tenant.id}`);
    }
    // A new tenant starts at version 1 (platform MFA); a later version is someone's choice.
    const current = await currentPolicy(app, caller, tenant.id);
    if ((current?.version ?? 0) <= 1 && current?.policy.posture !== tenant.posture) {
      await app.policies.replace(caller, tenant.id, {
        policy: { posture: tenant.posture },
        rationale: RATIONALE,
        ifMatch: current?.version ?? 0,
      });
      created.push(`policy ${tenant.id} (${tenant.posture})`);
    }
  }

  for (const principal of PRINCIPALS) {
    if (!(await exists(() => app.principals.get(caller, principal.tenant, principal.id)))) {
      await app.principals.upsert(caller, principal.tenant, principal.id, {
        population: principal.population,
        displayName: principal.displayName,
      });
      created.push(`principal ${principal.tenant}/${principal.id}`);
    }
  }

  const active = (await app.apiKeys.list(caller)).filter(
    (key) =>
      key.revokedAt === undefined &&
      (key.expiresAt === undefined || Date.parse(key.expiresAt) > now.getTime()),
  );
  for (const spec of KEYS) {
    if (active.some((key) => key.name === spec.name)) continue;
    const { secret } = await app.apiKeys.create(caller, {
      name: spec.name,
      roles: spec.roles,
      tenants: spec.tenants,
    });
    keys.push({ ...spec, secret });
    created.push(`API key "${spec.name}"`);
  }

  const breakGlass = await app.exemptions.list(
    caller,
    "acme",
    { principal: "breakglass", category: "break_glass", activeAt: now.toISOString() },
    {},
  );
  if (breakGlass.items.length === 0) {
    const request = await app.exemptions.request(caller, "acme", {
      principal: "breakglass",
      category: "break_glass",
      justification: "Emergency access while the identity provider is unavailable (demo).",
      owner: "security-team@acme.example",
      startsAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 6 * DAY).toISOString(),
      reviewAt: new Date(now.getTime() + 3 * DAY).toISOString(),
    });
    await approveAsSomeoneElse(app, caller, request.id, keys);
    created.push(`approved break-glass exemption ${request.id} for acme/breakglass`);
  }

  return { keys, created };
}

/** An exemption is never approved by its requester: approve with an approver key. */
async function approveAsSomeoneElse(
  app: Application,
  requester: Caller,
  id: string,
  keys: readonly DemoKey[],
): Promise<void> {
  const known = keys.find((key) => key.name === "demo acme approver");
  if (known !== undefined) {
    await app.exemptions.approve(await app.authenticate(known.secret), "acme", id);
    return;
  }
  // The approver key exists from an earlier run but its secret is gone: use a short-lived one.
  const { key, secret } = await app.apiKeys.create(requester, {
    name: "demo seeding approver (temporary)",
    roles: ["exemption_approver"],
    tenants: ["acme"],
  });
  try {
    await app.exemptions.approve(await app.authenticate(secret), "acme", id);
  } finally {
    await app.apiKeys.revoke(requester, key.id);
  }
}

/**
 * The `serve --demo` hook: obtains a platform administrator (the bootstrap key on a fresh store,
 * else a temporary key revoked afterwards), seeds the demo data and prints new API keys once.
 */
export async function prepareDemo(
  opened: Pick<OpenedApplication, "app" | "bootstrap">,
  print: (line: string) => void,
  now: Date = new Date(),
): Promise<DemoSeed> {
  const { app } = opened;
  let admin: { id: string; secret: string; temporary: boolean };
  try {
    const { key, secret } = await opened.bootstrap({ name: "demo platform admin" });
    admin = { id: key.id, secret, temporary: false };
  } catch (error) {
    if (!(error instanceof AppError && error.code === "bootstrap.exists")) throw error;
    const { key, secret } = await opened.bootstrap({
      name: "demo seeding (temporary)",
      force: true,
    });
    admin = { id: key.id, secret, temporary: true };
  }
  const caller = await app.authenticate(admin.secret);
  let seed: DemoSeed;
  try {
    seed = await seedDemoData(app, caller, { now });
  } finally {
    if (admin.temporary) await app.apiKeys.revoke(caller, admin.id);
  }
  const keys: DemoKey[] = admin.temporary
    ? [...seed.keys]
    : [
        {
          name: "demo platform admin",
          roles: ["platform_admin"],
          tenants: "all",
          secret: admin.secret,
        },
        ...seed.keys,
      ];
  if (keys.length > 0) {
    print("Demo API keys (shown once; keep them):");
    for (const key of keys) {
      const scope = key.tenants === "all" ? "all tenants" : key.tenants.join(", ");
      print(
        `  ${key.name.padEnd(24)} ${key.roles.join(",").padEnd(20)} ${scope.padEnd(12)} ${key.secret}`,
      );
    }
  } else if (seed.created.length === 0) {
    print("Demo data present; its API keys were printed when they were created.");
  }
  for (const line of seed.created) print(`  created ${line}`);
  return { keys, created: seed.created };
}
