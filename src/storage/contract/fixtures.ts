import { createHash, randomBytes } from "node:crypto";
import type { Store } from "../../app/ports.js";
import type {
  ApiKeyRecord,
  AuditEvent,
  ExemptionRecord,
  IdpRecord,
  MandateVersionRecord,
  PolicyVersionRecord,
  PrincipalRecord,
  ReceiptRecord,
  TenantRecord,
} from "../../app/records.js";
import { evaluate } from "../../core/evaluate.js";
import { DEFAULT_IDP_ASSURANCE_MAPPING } from "../../core/idp-assurance.js";

// The suite shares one database across tests, so every id carries a run-unique part and tests
// never see each other's rows unless they look at store-wide lists.
const run = randomBytes(4).toString("hex");
let counter = 0;

export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}_${run}_${counter}`;
}

const EPOCH = Date.parse("2030-01-01T00:00:00.000Z");

/** An ISO time `seconds` after a fixed epoch, in the `toISOString()` form the store keeps. */
export function at(seconds: number): string {
  return new Date(EPOCH + seconds * 1000).toISOString();
}

export const HOUR = 3600;
export const DAY = 24 * HOUR;

/** Inserts a new tenant and returns its id. */
export async function addTenant(store: Store, prefix = "tenant"): Promise<string> {
  const id = uniqueId(prefix);
  await store.transaction(({ tenants }) => tenants.insert(tenantRecord(id)));
  return id;
}

/** An OpenID Connect IdP registration (version 1) whose client secret is `sealedClientSecret`. */
export function oidcIdp(
  tenant: string,
  id: string,
  sealedClientSecret: string,
  registeredAt = at(0),
): IdpRecord {
  return {
    tenant,
    id,
    protocol: "oidc",
    oidc: {
      issuer: `https://idp.example/${id}`,
      clientId: "tenant-mfa",
      sealedClientSecret,
      scopes: ["openid"],
      idTokenAlgorithms: ["RS256"],
      subjectClaim: "sub",
    },
    request: { mfa: ["https://refeds.org/profile/mfa"], phishingResistant: [] },
    mapping: DEFAULT_IDP_ASSURANCE_MAPPING,
    clockSkewSeconds: 120,
    maxAuthenticationAgeSeconds: 86400,
    version: 1,
    createdAt: registeredAt,
    updatedAt: registeredAt,
    updatedBy: "key_admin",
  };
}

export function tenantRecord(id: string): TenantRecord {
  return {
    id,
    name: `Organisation ${id}`,
    createdAt: at(0),
    returnUrls: [`https://${id}.example/signed-in`],
  };
}

export function fullPolicyVersion(tenant: string, version: number): PolicyVersionRecord {
  return {
    tenant,
    version,
    policy: {
      tenant,
      version,
      posture: "phishing_resistant",
      require: { minAal: 2, maxAgeSeconds: 900, acceptedMethods: ["webauthn", "totp"] },
      riskRules: { high: { minAal: 3, phishingResistant: true } },
      unknownRisk: "low",
      enforcementStartsAt: at(DAY),
    },
    rationale: "Auditors asked for phishing resistance",
    actor: "admin@example.org",
    createdAt: at(version),
    rollbackOf: 1,
  };
}

export function minimalPolicyVersion(tenant: string, version: number): PolicyVersionRecord {
  return {
    tenant,
    version,
    policy: { tenant, version, posture: "platform_mfa" },
    rationale: "",
    actor: "admin@example.org",
    createdAt: at(version),
  };
}

export function fullMandateVersion(id: string, version: number): MandateVersionRecord {
  return {
    id,
    version,
    mandate: {
      id,
      version,
      title: "Emergency uplift",
      scope: { tenants: ["acme", "globex"], populations: ["direct", "api_human"] },
      require: { minAal: 2, phishingResistant: true },
      riskRules: { medium: { maxAgeSeconds: 300 } },
      unknownRisk: "medium",
      activeFrom: at(0),
      activeUntil: at(7 * DAY),
      exemptible: false,
    },
    status: "active",
    rationale: "Credential stuffing campaign",
    actor: "platform@example.org",
    createdAt: at(version),
  };
}

export function minimalMandateVersion(id: string, version: number): MandateVersionRecord {
  return {
    id,
    version,
    mandate: { id, version, scope: { tenants: "all" }, require: {}, exemptible: true },
    status: "retired",
    rationale: "Lifted",
    actor: "platform@example.org",
    createdAt: at(version),
  };
}

export function fullPrincipal(tenant: string, id: string): PrincipalRecord {
  return {
    tenant,
    id,
    externalId: `ext-${id}`,
    population: "sso",
    displayName: "Ada Lovelace",
    sharedLogin: true,
    idp: "corp",
    idpIssuer: "https://idp.example/corp",
    createdAt: at(0),
    updatedAt: at(60),
  };
}

export function minimalPrincipal(tenant: string, id: string): PrincipalRecord {
  return { tenant, id, population: "integration", createdAt: at(0), updatedAt: at(0) };
}

export function fullExemption(tenant: string, id: string): ExemptionRecord {
  return {
    ...minimalExemption(tenant, id),
    status: "approved",
    approvedBy: "approver@example.org",
    renewalOf: "ex_previous",
    decidedBy: "approver@example.org",
    decidedAt: at(HOUR),
  };
}

/** A requested exemption of `principal`, valid for a day from the epoch. */
export function minimalExemption(
  tenant: string,
  id: string,
  overrides: Partial<ExemptionRecord> = {},
): ExemptionRecord {
  return {
    id,
    tenant,
    principal: "svc-ledger",
    category: "legacy_integration",
    status: "requested",
    startsAt: at(0),
    expiresAt: at(DAY),
    requestedBy: "owner@example.org",
    owner: "owner@example.org",
    justification: "Vendor connector cannot do MFA until its next release",
    reviewAt: at(DAY / 2),
    createdAt: at(0),
    ...overrides,
  };
}

/** A receipt holding a real decision from the engine, with its nested nulls and arrays. */
export function receipt(tenant: string, id: string): ReceiptRecord {
  const decision = evaluate(
    {
      tenant,
      policy: { tenant, version: 1, posture: "platform_mfa" },
      principal: { id: "ada", population: "direct" },
      evidence: { events: [{ method: "password", source: "platform", at: at(0) }] },
    },
    { now: new Date(at(30)), id },
  );
  return {
    id,
    tenant,
    principal: "ada",
    outcome: decision.outcome,
    createdAt: at(30),
    decision,
    inputSummary: { methods: ["password"], risk: null, stepUp: false },
  };
}

export function fullApiKey(id: string): ApiKeyRecord {
  return {
    ...minimalApiKey(id),
    roles: ["tenant_admin", "tenant_auditor", "platform_service"],
    tenants: ["acme", "globex"],
    expiresAt: at(30 * DAY),
    revokedAt: at(DAY),
    holder: "dana@acme.example",
    audiences: ["https://billing.acme.example", "https://payroll.acme.example"],
  };
}

export function minimalApiKey(id: string): ApiKeyRecord {
  return {
    id,
    name: `key ${id}`,
    secretHash: createHash("sha256").update(id).digest("hex"),
    roles: ["platform_service"],
    tenants: "all",
    createdAt: at(0),
    createdBy: "bootstrap",
  };
}

export const GENESIS_HASH = "0".repeat(64);

/** A deterministic link: hash = sha256(previous hash + seq), so a fork or gap shows at once. */
export function linkHash(prevHash: string, seq: number): string {
  return createHash("sha256").update(`${prevHash}${seq}`).digest("hex");
}

export interface LinkOptions {
  readonly type?: string;
  readonly at?: string;
  readonly tenant?: string | null;
  readonly payload?: Readonly<Record<string, unknown>>;
  /** Called with the head each time the store hands one over. */
  readonly onHead?: (head: { seq: number; hash: string } | undefined) => void;
}

export function chainLink(
  chain: string,
  options: LinkOptions = {},
): (head: { seq: number; hash: string } | undefined) => AuditEvent {
  return (head) => {
    options.onHead?.(head);
    const seq = (head?.seq ?? 0) + 1;
    const prevHash = head?.hash ?? GENESIS_HASH;
    return {
      chain,
      seq,
      id: `${chain}#${seq}`,
      tenant: options.tenant === undefined ? null : options.tenant,
      type: options.type ?? "policy.changed",
      actor: "admin@example.org",
      at: options.at ?? at(seq),
      payload: options.payload ?? { seq },
      prevHash,
      hash: linkHash(prevHash, seq),
    };
  };
}

/** Appends one event in its own transaction. */
export function appendOne(store: Store, chain: string, options: LinkOptions = {}) {
  return store.transaction(({ audit }) => audit.append(chain, chainLink(chain, options)));
}

/** The first break in `events` (not seq 1..n, or not linked to the one before), if any. */
export function findChainBreak(events: readonly AuditEvent[]): string | undefined {
  let prevHash = GENESIS_HASH;
  for (const [index, event] of events.entries()) {
    if (event.seq !== index + 1) return `seq ${event.seq} at position ${index + 1}`;
    if (event.prevHash !== prevHash) return `seq ${event.seq} does not link to seq ${index}`;
    if (event.hash !== linkHash(prevHash, event.seq)) return `seq ${event.seq} has a wrong hash`;
    prevHash = event.hash;
  }
  return undefined;
}
