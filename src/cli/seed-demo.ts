import type { Application, Caller, IdpRegistration } from "../app/application.js";
import { AppError } from "../app/errors.js";
import type { Store } from "../app/ports.js";
import type { ApiKeyRecord, Role } from "../app/records.js";
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
    try {
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
    } catch (error) {
      // A demo database started again each time the last one ended reaches the renewal cap:
      // the demo goes on without the exemption until MFA has applied for more than a day.
      if (!(error instanceof AppError && error.code === "exemption.renewal_limit")) throw error;
    }
  }

  return { keys, created };
}

/** The Initech IdP registration that points at the demo's development IdP. */
export const DEMO_IDP = { tenant: "initech", id: "corp-idp" } as const;

/** The name of the API key the demo platform app uses; a fresh one each start. */
export const DEMO_PLATFORM_KEY_NAME = "demo platform app";

/** What the demo apps of `serve --demo` need registered in tenant-mfa. */
export interface DemoApps {
  /** The demo platform's callback: a return URL of every demo tenant. */
  readonly returnUrl: string;
  /** The development IdP, registered as Initech's OIDC IdP `corp-idp`. */
  readonly idp: {
    readonly issuer: string;
    readonly clientId: string;
    readonly clientSecret: string;
  };
}

/** What {@link seedDemoApps} did, and the demo platform's key for this run. */
export interface DemoAppsSeed {
  /** A `platform_service` key, held in memory by the demo platform; never printed. */
  readonly platformKey: { readonly id: string; readonly secret: string };
  readonly changed: readonly string[];
}

/**
 * Registers the demo apps, as `caller` (a platform administrator): the platform's callback as a
 * return URL of each demo tenant (added once), Initech's IdP pointing at the development IdP
 * (updated on every start, since that IdP makes a new client secret each run), and a new
 * `platform_service` key for the demo platform, the one of an earlier run being revoked (its
 * secret lived in that run's memory only).
 */
export async function seedDemoApps(
  app: Application,
  caller: Caller,
  apps: DemoApps,
): Promise<DemoAppsSeed> {
  const changed: string[] = [];
  for (const tenant of TENANTS) {
    const record = await app.tenants.get(caller, tenant.id);
    if (record.returnUrls.includes(apps.returnUrl)) continue;
    await app.tenants.setReturnUrls(caller, tenant.id, {
      returnUrls: [...record.returnUrls, apps.returnUrl],
    });
    changed.push(`return URL ${apps.returnUrl} for ${tenant.id}`);
  }

  let current: number | undefined;
  try {
    current = (await app.idps.get(caller, DEMO_IDP.tenant, DEMO_IDP.id)).version;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  const registration: IdpRegistration = {
    displayName: "Initech corporate IdP (demo)",
    protocol: "oidc",
    oidc: {
      issuer: apps.idp.issuer,
      clientId: apps.idp.clientId,
      clientSecret: apps.idp.clientSecret,
      scopes: ["openid"],
      idTokenAlgorithms: ["ES256"],
    },
  };
  await app.idps.put(caller, DEMO_IDP.tenant, DEMO_IDP.id, {
    registration,
    ifMatch: current,
  });
  changed.push(
    `IdP ${DEMO_IDP.tenant}/${DEMO_IDP.id} ${current === undefined ? "registered" : "updated"}: ${apps.idp.issuer}, this run's client secret`,
  );

  const earlier = (await app.apiKeys.list(caller)).filter(
    (key) => key.name === DEMO_PLATFORM_KEY_NAME && key.revokedAt === undefined,
  );
  for (const key of earlier) await app.apiKeys.revoke(caller, key.id);
  const { key, secret } = await app.apiKeys.create(caller, {
    name: DEMO_PLATFORM_KEY_NAME,
    roles: ["platform_service"],
    tenants: "all",
  });
  changed.push(
    `API key "${DEMO_PLATFORM_KEY_NAME}" ${key.id} for the demo platform${earlier.length === 0 ? "" : " (the earlier one revoked)"}`,
  );
  return { platformKey: { id: key.id, secret }, changed };
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

/** The platform administrator key the demo bootstraps on an empty store: the demo's mark. */
const DEMO_ADMIN_KEY_NAME = "demo platform admin";

/**
 * `serve --demo` was pointed at a store that it did not make: seeding it would add a principal
 * with an approved break-glass exemption to the operator's tenant `acme`, mint keys for it and
 * print their secrets. Nothing was seeded.
 */
export class DemoStoreRefused extends Error {
  constructor() {
    super(
      "it holds tenants or API keys that the demo did not create, and the demo seeds only an empty store or one it made. Give the demo a store of its own (--db sqlite:PATH of a new file), or serve this store without --demo.",
    );
    this.name = "DemoStoreRefused";
  }
}

/**
 * Refuses ({@link DemoStoreRefused}) a store the demo did not make. An empty store (no tenant, no
 * API key) is the demo's to seed, and the demo's first write there is its bootstrap key (`demo
 * platform admin`, created by `bootstrap`): a store whose first API key is that one is the
 * demo's, on every later start. Any other store is an operator's.
 */
async function checkDemoStore(store: Store): Promise<void> {
  const { keys, tenants } = await store.read(async (r) => ({
    keys: await r.apiKeys.list(),
    tenants: await r.tenants.list({ limit: 1 }),
  }));
  if (keys.length === 0 && tenants.items.length === 0) return;
  const first = keys.reduce<ApiKeyRecord | undefined>(
    (earliest, key) =>
      earliest === undefined || key.createdAt < earliest.createdAt ? key : earliest,
    undefined,
  );
  if (first?.name === DEMO_ADMIN_KEY_NAME && first.createdBy === "bootstrap") return;
  throw new DemoStoreRefused();
}

/**
 * The `serve --demo` hook: refuses a store that the demo did not make ({@link DemoStoreRefused},
 * before seeding anything), obtains a platform administrator (the bootstrap key on a fresh store,
 * else a temporary key revoked afterwards), seeds the demo data and prints new API keys once.
 * With `apps`, also registers the demo apps ({@link seedDemoApps}); their key is returned, not
 * printed.
 */
export async function prepareDemo(
  opened: Pick<OpenedApplication, "app" | "bootstrap" | "store">,
  print: (line: string) => void,
  now: Date = new Date(),
  apps?: DemoApps,
): Promise<DemoSeed & { readonly apps?: DemoAppsSeed }> {
  const { app } = opened;
  await checkDemoStore(opened.store);
  let admin: { id: string; secret: string; temporary: boolean };
  try {
    const { key, secret } = await opened.bootstrap({ name: DEMO_ADMIN_KEY_NAME });
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
  let appsSeed: DemoAppsSeed | undefined;
  try {
    seed = await seedDemoData(app, caller, { now });
    if (apps !== undefined) appsSeed = await seedDemoApps(app, caller, apps);
  } finally {
    if (admin.temporary) await app.apiKeys.revoke(caller, admin.id);
  }
  const keys: DemoKey[] = admin.temporary
    ? [...seed.keys]
    : [
        {
          name: DEMO_ADMIN_KEY_NAME,
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
  for (const line of appsSeed?.changed ?? []) print(`  demo apps: ${line}`);
  return { keys, created: seed.created, ...(appsSeed === undefined ? {} : { apps: appsSeed }) };
}
