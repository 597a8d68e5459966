import { evaluate } from "../evaluate.js";
import type {
  FederatedEvent,
  PasswordEvent,
  RecoveryCodeEvent,
  TotpEvent,
  WebAuthnEvent,
} from "../evidence.js";
import type { EvaluationInput } from "../input.js";
import type { Exemption, PlatformMandate, RequirementSpec, TenantPolicy } from "../policy.js";
import type { Aal, Posture } from "../vocabulary.js";

/** The fixed instant unit tests decide at. */
export const NOW = new Date("2026-11-23T12:00:00.000Z");

/** The ISO time `seconds` before {@link NOW} (negative: after). */
export const ago = (seconds: number): string =>
  new Date(NOW.getTime() - seconds * 1000).toISOString();

export const password = (secondsAgo = 60): PasswordEvent => ({
  method: "password",
  source: "platform",
  at: ago(secondsAgo),
});

export const totp = (secondsAgo = 30): TotpEvent => ({
  method: "totp",
  source: "platform",
  at: ago(secondsAgo),
});

export const recoveryCode = (secondsAgo = 30): RecoveryCodeEvent => ({
  method: "recovery_code",
  source: "platform",
  at: ago(secondsAgo),
});

/** A WebAuthn event; `attested` left out unless given (absent: not attested). */
export const webauthn = (
  options: { uv?: boolean; be?: boolean; attested?: boolean | undefined; secondsAgo?: number } = {},
): WebAuthnEvent => ({
  method: "webauthn",
  source: "platform",
  at: ago(options.secondsAgo ?? 30),
  userVerified: options.uv ?? true,
  backupEligible: options.be ?? false,
  ...(options.attested === undefined ? {} : { attested: options.attested }),
});

export const federated = (
  options: { aal?: Aal; pr?: boolean; tenant?: string; secondsAgo?: number } = {},
): FederatedEvent => ({
  method: "federated",
  source: "idp",
  tenant: options.tenant ?? "acme",
  idp: "okta",
  at: ago(options.secondsAgo ?? 30),
  assurance: { aal: options.aal ?? 2, phishingResistant: options.pr ?? false },
  claims: { amr: ["pwd", "mfa"] },
});

export const policy = (posture: Posture, extra: Partial<TenantPolicy> = {}): TenantPolicy => ({
  tenant: "acme",
  version: 1,
  posture,
  ...extra,
});

export const mandate = (
  id: string,
  require: RequirementSpec,
  extra: Partial<PlatformMandate> = {},
): PlatformMandate => ({
  id,
  version: 1,
  scope: { tenants: "all" },
  require,
  exemptible: true,
  ...extra,
});

export const exemption = (extra: Partial<Exemption> = {}): Exemption => ({
  id: "ex-1",
  tenant: "acme",
  principal: "alice",
  category: "break_glass",
  status: "approved",
  startsAt: ago(3600),
  expiresAt: ago(-3600),
  requestedBy: "ops",
  approvedBy: "security",
  ...extra,
});

/** A sign-in of alice (direct) at acme under `platform_mfa`, overridden by `overrides`. */
export const input = (overrides: Partial<EvaluationInput> = {}): EvaluationInput => ({
  tenant: "acme",
  policy: policy("platform_mfa"),
  principal: { id: "alice", population: "direct" },
  evidence: { events: [password()] },
  ...overrides,
});

/** Evaluates {@link input} with `overrides` at {@link NOW}. */
export const decide = (overrides: Partial<EvaluationInput> = {}) =>
  evaluate(input(overrides), { now: NOW, id: "dec-1" });

/** The reason codes of a decision. */
export const codes = (decision: { reasons: readonly { code: string }[] }): string[] =>
  decision.reasons.map((r) => r.code);
