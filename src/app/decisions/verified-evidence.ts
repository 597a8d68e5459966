import type { AuthenticationEvent } from "../../core/evidence.js";
import { parseTime } from "../../core/time.js";
import { chainOf } from "../audit/audit-chain.js";
import { countsAsAttested, type AttestationTrust } from "../authenticators/webauthn.js";
import { AppError } from "../errors.js";
import type { Repositories } from "../ports.js";
import type { PrincipalRecord } from "../records.js";

/** The audit event that records each platform MFA method's verification by tenant-mfa. */
const RECORDED_AS = {
  totp: "authenticator.verified",
  webauthn: "webauthn.verified",
  recovery_code: "recovery_code.used",
} as const;

type VerifiableMethod = keyof typeof RECORDED_AS;

const isVerifiable = (method: string): method is VerifiableMethod =>
  Object.hasOwn(RECORDED_AS, method);

/**
 * Refuses a TOTP, WebAuthn or recovery-code event that names no verification of tenant-mfa's
 * own (`decisions.requireVerifiedEvidence`): the caller's word alone then proves no MFA step.
 * Passwords are the platform's own to check and never need one. Federated events never get here:
 * the decision API refuses them from every caller, flag or no flag. Throws `evidence.unverified`.
 */
export function refuseUnnamedVerifications(events: readonly AuthenticationEvent[]): void {
  for (const [index, event] of events.entries()) {
    if (
      isVerifiable(event.method) &&
      (event as { verification?: unknown }).verification === undefined
    ) {
      throw unverified(
        index,
        `names no verification; send the event that tenant-mfa's ${event.method} verification returned.`,
      );
    }
  }
}

/**
 * Checks the platform MFA events that name a `verification` against tenant-mfa's own record of it
 * (DESIGN invariant 3: evidence is verified, never assumed): the audit event must be in this
 * tenant's chain, of its method's type, for this principal, at the same instant, and for WebAuthn
 * with the same user-verification and backup-eligibility flags and credential, so that a caller
 * can neither borrow another principal's or tenant's verification nor dress one up. Events that
 * name none are left to {@link refuseUnnamedVerifications}. Returns where each named event's
 * verification stands in the tenant's chain, by the event's index, for
 * {@link refuseWithdrawnVerifications}, and which named WebAuthn events were verified as attested
 * hardware with a credential that no longer counts as such: the operator took its root out since
 * (`attested` no longer trusts it), or a clone signal of the key stands (`cloneSuspectedAt`), for
 * {@link countedAsTrustedNow}. Throws `evidence.unverified`.
 */
export async function checkNamedVerifications(
  r: Repositories,
  attested: AttestationTrust,
  tenant: string,
  principal: string,
  events: readonly AuthenticationEvent[],
): Promise<NamedVerifications> {
  const positions = new Map<number, number>();
  const attestationUntrusted = new Set<number>();
  const cloneSuspected = new Set<number>();
  for (const [index, event] of events.entries()) {
    if (!isVerifiable(event.method)) continue;
    const method = event.method;
    const { verification } = event as { verification?: unknown };
    if (verification === undefined) continue;
    const recorded =
      typeof verification === "string"
        ? await r.audit.find(chainOf(tenant), verification)
        : undefined;
    if (recorded === undefined || recorded.type !== RECORDED_AS[method]) {
      throw unverified(index, `names no ${method} verification of this tenant.`);
    }
    const payload = recorded.payload as Record<string, unknown>;
    if (payload.principal !== principal) {
      throw unverified(index, "names a verification of another principal.");
    }
    const at = parseTime(event.at);
    if (at === undefined || at !== parseTime(recorded.at)) {
      throw unverified(index, `is not at the time of its verification (${recorded.at}).`);
    }
    if (
      event.method === "webauthn" &&
      (event.userVerified !== payload.userVerified ||
        event.backupEligible !== payload.backupEligible ||
        // Recorded before attestation was kept: not attested.
        (event.attested ?? false) !== (payload.attested ?? false) ||
        (event.credentialId !== undefined && event.credentialId !== payload.credentialId))
    ) {
      throw unverified(index, "does not carry the flags and credential its verification recorded.");
    }
    if (event.method === "webauthn" && event.attested === true) {
      const now = await attestedNow(r, attested, tenant, principal, payload.credentialId);
      if (now === "untrusted") attestationUntrusted.add(index);
      if (now === "clone_suspected") cloneSuspected.add(index);
    }
    positions.set(index, recorded.seq);
  }
  return { positions, attestationUntrusted, cloneSuspected };
}

/**
 * Whether the principal's credential still counts as attested hardware, judged as at every use
 * of the key ({@link countsAsAttested}), and if not, why: its root is no longer trusted (a
 * credential that is gone counts as nothing attested), or a clone signal of the key stands.
 */
async function attestedNow(
  r: Repositories,
  attested: AttestationTrust,
  tenant: string,
  principal: string,
  credentialId: unknown,
): Promise<"attested" | "untrusted" | "clone_suspected"> {
  if (typeof credentialId !== "string") return "untrusted";
  const credential = await r.webauthnCredentials.findByCredentialId(
    tenant,
    principal,
    credentialId,
  );
  if (credential === undefined || !attested(credential)) return "untrusted";
  return countsAsAttested(credential, attested) ? "attested" : "clone_suspected";
}

/** What {@link checkNamedVerifications} found of the named events, by their index. */
export interface NamedVerifications {
  readonly positions: RecordedPositions;
  /** WebAuthn events verified as attested hardware whose credential's root is no longer trusted. */
  readonly attestationUntrusted: ReadonlySet<number>;
  /** WebAuthn events verified as attested hardware whose key has a clone signal standing. */
  readonly cloneSuspected: ReadonlySet<number>;
}

/**
 * The events as they count now: a WebAuthn event verified as attested hardware, whose key's root
 * the operator no longer lists or whose key has a clone signal standing (`attestationUntrusted`
 * and `cloneSuspected`, from {@link checkNamedVerifications}), counts as the passkey it is trusted
 * as now, not attested. It is not refused: the platform cannot verify the key again inside its
 * call, and what the key still proves (a phishing-resistant AAL2, say) is what the requirement is
 * held to.
 */
export function countedAsTrustedNow(
  events: readonly AuthenticationEvent[],
  named: Pick<NamedVerifications, "attestationUntrusted" | "cloneSuspected">,
): AuthenticationEvent[] {
  return events.map((event, index) =>
    event.method === "webauthn" &&
    (named.attestationUntrusted.has(index) || named.cloneSuspected.has(index))
      ? { ...event, attested: false }
      : event,
  );
}

/**
 * Where the verification each named platform MFA event cites stands in the tenant's audit chain,
 * by the event's index in the evidence.
 */
export type RecordedPositions = ReadonlyMap<number, number>;

/**
 * Refuses a platform MFA event whose verification the principal's proofs were withdrawn after
 * (an authenticator removed or locked by a clone signal, recovery codes revoked or replaced,
 * `withdrawProofs`): the caller may have kept it in a session, but what it proved may be what
 * the change took away, such as a lost phone's code or a cloned key's sign-in. The principal
 * verifies again. Events that name no verification are the caller's word and are left to
 * {@link refuseUnnamedVerifications}. `positions` are what {@link checkNamedVerifications}
 * returned for the same events. Throws `evidence.withdrawn`.
 *
 * "After" is by the tenant's audit chain, not by the clock: a verification whose event stands
 * below the withdrawal's (`proofsWithdrawnSeq`) committed before the withdrawal did, and one
 * above it after (`withdrawProofs` says why), whatever the instances' clocks said. A principal
 * withdrawn before positions were kept (migration 0023) has only its instant: a verification at
 * or before it is refused, by time.
 */
export function refuseWithdrawnVerifications(
  events: readonly AuthenticationEvent[],
  principal: PrincipalRecord | undefined,
  positions: RecordedPositions,
): void {
  const withdrawnAt = principal?.proofsWithdrawnAt;
  const withdrawnSeq = principal?.proofsWithdrawnSeq;
  if (withdrawnAt === undefined && withdrawnSeq === undefined) return;
  const cutoff = withdrawnAt === undefined ? undefined : parseTime(withdrawnAt);
  for (const [index, event] of events.entries()) {
    if (!isVerifiable(event.method)) continue;
    if ((event as { verification?: unknown }).verification === undefined) continue;
    const seq = positions.get(index);
    const withdrawn =
      withdrawnSeq === undefined
        ? withdrawnBefore(parseTime(event.at), cutoff)
        : // Fails closed: a position that is not a chain's (a damaged row) withdraws them all.
          seq === undefined || !Number.isSafeInteger(withdrawnSeq) || seq <= withdrawnSeq;
    if (withdrawn) {
      throw new AppError(
        "evidence.withdrawn",
        `evidence.events[${String(index)}] was verified before the principal's proofs were withdrawn${withdrawnAt === undefined ? "" : ` at ${withdrawnAt}`}; verify again.`,
      );
    }
  }
}

/** Whether a verification at `at` is at or before the withdrawal at `cutoff` (both parsed). */
const withdrawnBefore = (at: number | undefined, cutoff: number | undefined): boolean =>
  cutoff === undefined || at === undefined || at <= cutoff;

const unverified = (index: number, detail: string): AppError =>
  new AppError("evidence.unverified", `evidence.events[${String(index)}] ${detail}`);
