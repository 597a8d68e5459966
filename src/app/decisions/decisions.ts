import type { Decision } from "../../core/decision.js";
import type { AuthenticationEvent } from "../../core/evidence.js";
import { evaluate } from "../../core/evaluate.js";
import { toCanonicalTime } from "../../core/time.js";
import type { EvaluationInput } from "../../core/input.js";
import type { Population } from "../../core/vocabulary.js";
import { authorize } from "../access/permissions.js";
import type { Application, DecisionRequest } from "../application.js";
import {
  DECISION_RECORDED,
  digestReceipt,
  recordedEventId,
  type AuditEntry,
} from "../audit/audit-chain.js";
import {
  DEFAULT_DECISION_SETTINGS,
  readStore,
  recordAuditRun,
  transact,
  type Context,
} from "../context.js";
import type { AttestationTrust } from "../authenticators/webauthn.js";
import { AppError } from "../errors.js";
import type { Repositories } from "../ports.js";
import type { ReceiptRecord } from "../records.js";
import { readRecordedReceipt } from "./recorded-receipt.js";
import { StaleDecision, type ReceiptWriter, type StillHolds } from "./receipt-writer.js";
import type { RulesCache } from "./rules-cache.js";
import {
  checkNamedVerifications,
  countedAsTrustedNow,
  refuseUnnamedVerifications,
  refuseWithdrawnVerifications,
} from "./verified-evidence.js";

/**
 * What decisions share across requests: the rules cache, the receipt writer, and whether a
 * passkey counts as attested hardware now (the operator's roots, as the WebAuthn verifications
 * judge it).
 */
export interface DecisionServices {
  readonly rules: RulesCache;
  readonly receipts: ReceiptWriter;
  readonly attested: AttestationTrust;
}

/**
 * A caller's time as the API answers times, in UTC (`toISOString`'s form); text that is no
 * time, which the engine ignored, as sent.
 */
const inUtc = (text: string): string => toCanonicalTime(text) ?? text;

/**
 * What the receipt keeps of the inputs: methods, times and flags, and an IdP's claims as verified;
 * never a secret, nor the claims a caller attached to a platform event (the decision's
 * `satisfiedBy` keeps those verbatim, as the caller's word). The events are those the decision
 * counted: a passkey whose attestation the operator no longer trusts shows `attested: false`,
 * marked `attestationUntrusted` beside the verification that recorded it attested, and one whose
 * key has a clone signal standing likewise, marked `cloneSuspected`.
 */
function summarise(
  request: DecisionRequest,
  population: Population,
  counted: CountedEvidence,
): Record<string, unknown> {
  return {
    population,
    events: counted.events.map((e, index) => ({
      method: e.method,
      at: inUtc(e.at),
      source: e.source,
      ...(e.method === "webauthn"
        ? {
            userVerified: e.userVerified,
            backupEligible: e.backupEligible,
            ...(e.attested === undefined ? {} : { attested: e.attested }),
            ...(counted.attestationUntrusted.has(index) ? { attestationUntrusted: true } : {}),
            ...(counted.cloneSuspected.has(index) ? { cloneSuspected: true } : {}),
          }
        : {}),
      // Which of tenant-mfa's own verifications the event came from; none: the caller's word.
      ...("verification" in e && e.verification !== undefined
        ? { verification: e.verification }
        : {}),
      // The IdP's own values are kept verbatim: what it said, beside what the mapping granted.
      ...(e.method === "federated"
        ? {
            idp: e.idp,
            assurance: e.assurance,
            ...(e.claims === undefined ? {} : { claims: e.claims }),
          }
        : {}),
    })),
    ...(request.evidence.grant === undefined ? {} : { grant: request.evidence.grant }),
    ...(request.evidence.act === undefined ? {} : { act: request.evidence.act }),
    ...(request.risk === undefined ? {} : { risk: request.risk }),
    ...(request.stepUp === undefined ? {} : { stepUp: request.stepUp }),
    ...(request.lastActivityAt === undefined
      ? {}
      : { lastActivityAt: inUtc(request.lastActivityAt) }),
  };
}

/** The request's events as the decision counts them, and which lost their attestation, why. */
interface CountedEvidence {
  readonly events: readonly AuthenticationEvent[];
  readonly attestationUntrusted: ReadonlySet<number>;
  readonly cloneSuspected: ReadonlySet<number>;
}

/**
 * What the engine is asked for one sign-in: the tenant's rules (cached), the principal and its
 * active exemptions, read without a write transaction, joined with the request. The platform MFA
 * events that name their verification are checked against its record in the same reads
 * (`evidence.unverified` otherwise), and against the principal's last withdrawal of its proofs
 * (`evidence.withdrawn`); one verified as attested hardware counts as attested only while the
 * operator still trusts its key's root and no clone signal of the key stands.
 */
async function loadEvaluationInput(
  context: Context,
  services: DecisionServices,
  tenant: string,
  request: DecisionRequest,
  now: Date,
): Promise<{ input: EvaluationInput; population: Population; counted: CountedEvidence }> {
  // Reads only: no write lock, so decisions read beside the receipt writer's batch. The
  // principal and its exemptions are read every time: sign-ins of one principal are rarely
  // close enough together for a cache of them to pay.
  const loaded = await readStore(context, async (r) => {
    const [policy, mandates, principal, exemptions, named] = await Promise.all([
      services.rules.policy(tenant, async () => (await r.policies.current(tenant))?.policy),
      services.rules.mandates(() => r.mandates.listCurrent()),
      r.principals.get(tenant, request.principal.id),
      r.exemptions.list(
        tenant,
        { principal: request.principal.id, activeAt: now.toISOString() },
        { limit: 100 },
      ),
      // Platform MFA events that name a verification are checked against its record.
      checkNamedVerifications(
        r,
        services.attested,
        tenant,
        request.principal.id,
        request.evidence.events,
      ),
    ]);
    return { policy, mandates, principal, exemptions: exemptions.items, named };
  });
  refuseWithdrawnVerifications(request.evidence.events, loaded.principal, loaded.named.positions);
  const { attestationUntrusted, cloneSuspected } = loaded.named;
  const counted: CountedEvidence = {
    events: countedAsTrustedNow(request.evidence.events, loaded.named),
    attestationUntrusted,
    cloneSuspected,
  };
  if (loaded.policy === undefined) throw new AppError("not_found", "No such tenant.");
  const population = loaded.principal?.population ?? request.principal.population;
  if (population === undefined) {
    throw new AppError(
      "principal.unknown",
      "The principal is not registered; send its population.",
    );
  }
  const input: EvaluationInput = {
    tenant,
    policy: loaded.policy,
    mandates: loaded.mandates,
    principal: {
      id: request.principal.id,
      population,
      ...(request.principal.authenticators === undefined
        ? {}
        : { authenticators: request.principal.authenticators }),
      ...(loaded.principal?.sharedLogin === true ? { sharedLogin: true } : {}),
    },
    evidence: { ...request.evidence, events: counted.events },
    exemptions: loaded.exemptions,
    ...(request.risk === undefined ? {} : { risk: request.risk }),
    ...(request.stepUp === undefined ? {} : { stepUp: request.stepUp }),
    ...(request.lastActivityAt === undefined ? {} : { lastActivityAt: request.lastActivityAt }),
    ...(request.idps === undefined ? {} : { idps: request.idps }),
  };
  return { input, population, counted };
}

/**
 * What the engine would decide now, without storing a receipt: for a hosted flow to choose its
 * next screen. Only {@link decideAndRecord}'s stored decision ever lets anyone in.
 */
export async function previewDecision(
  context: Context,
  services: DecisionServices,
  tenant: string,
  request: DecisionRequest,
): Promise<Decision> {
  const now = context.clock.now();
  const { input } = await loadEvaluationInput(context, services, tenant, request, now);
  return evaluate(input, { now });
}

/** Who asked for a decision, as the audit log names them. */
export interface DecisionActor {
  readonly id: string;
}

/** A decision with what recording it stores: its receipt and audit events. */
export interface DecisionToRecord {
  readonly decision: Decision;
  readonly receipt: ReceiptRecord;
  readonly events: readonly AuditEntry[];
}

/**
 * Loads the tenant's rules (cached), the principal and its exemptions, and evaluates: the decision
 * with its receipt and audit events, not yet stored. Nothing may act on it until it is recorded
 * ({@link decideAndRecord}, or a caller's own transaction through {@link recordDecision}).
 */
export async function prepareDecision(
  context: Context,
  services: DecisionServices,
  tenant: string,
  request: DecisionRequest,
  actor: DecisionActor,
  /** Kept on the receipt beside the inputs: what else the caller wants an auditor to see. */
  note?: Readonly<Record<string, unknown>>,
): Promise<DecisionToRecord> {
  const now = context.clock.now();
  const { input, population, counted } = await loadEvaluationInput(
    context,
    services,
    tenant,
    request,
    now,
  );
  const decision = evaluate(input, { now, id: context.random.id("dec") });
  const receipt: ReceiptRecord = {
    id: decision.id ?? "",
    tenant,
    principal: request.principal.id,
    outcome: decision.outcome,
    createdAt: decision.evaluatedAt,
    decision,
    inputSummary: { ...summarise(request, population, counted), ...note },
  };
  const recorded: AuditEntry = {
    id: recordedEventId(receipt.id),
    tenant,
    type: DECISION_RECORDED,
    actor: actor.id,
    payload: {
      decision: receipt.id,
      // Binds the whole receipt to the chain: an edited or swapped receipt no longer matches.
      receipt: digestReceipt(receipt),
      principal: receipt.principal,
      outcome: decision.outcome,
      mode: decision.mode,
      // What the tenant policy would have decided once enforced: a report-only period's answer.
      ...(decision.reportOnly === undefined
        ? {}
        : { reportOnlyOutcome: decision.reportOnly.outcome }),
      reasons: decision.reasons.map((x) => x.code),
      policyVersion: decision.versions.tenantPolicy,
      mandates: decision.versions.mandates,
      ...(decision.exemption === null ? {} : { exemption: decision.exemption.id }),
    },
  };
  // Break-glass use is its own event type, so that operators can alert on it.
  const breakGlass: AuditEntry[] =
    decision.exemption?.breakGlass === true
      ? [
          {
            tenant,
            type: "exemption.break_glass_used",
            actor: actor.id,
            payload: {
              decision: receipt.id,
              principal: receipt.principal,
              exemption: decision.exemption.id,
              expiresAt: decision.exemption.expiresAt,
            },
          },
        ]
      : [];
  return { decision, receipt, events: [recorded, ...breakGlass] };
}

/**
 * What must still hold when the receipt of `decision` in `tenant` commits: the exemption it let
 * the principal through under, if any, still approved, read (on PostgreSQL held, shared) in the
 * writing transaction. A revocation (or a shared-login mark, which revokes) committed after the
 * decision read it is seen; one under way is waited for; one that starts now waits for the commit.
 * Undefined when the decision used no exemption.
 */
export function exemptionStillStands(tenant: string, decision: Decision): StillHolds | undefined {
  const exemption = decision.exemption;
  if (exemption === null) return undefined;
  return {
    row: { tenant, id: exemption.id },
    check: async (r) => (await r.exemptions.hold(tenant, exemption.id))?.status === "approved",
  };
}

/**
 * Stores a prepared decision's receipt and audit events in the caller's transaction; throws
 * {@link StaleDecision}, writing nothing, when the exemption it used no longer stands (see
 * {@link exemptionStillStands}): the caller rolls back and decides again. The exemption's row is
 * read before the receipt and the audit head, the order every path keeps.
 */
export async function recordDecision(
  context: Context,
  r: Repositories,
  prepared: DecisionToRecord,
): Promise<void> {
  const stands = exemptionStillStands(prepared.receipt.tenant, prepared.decision);
  if (stands !== undefined && !(await stands.check(r))) throw new StaleDecision();
  await r.receipts.insert(prepared.receipt);
  // A decision's events are all of its tenant's chain.
  await recordAuditRun(context, r, prepared.events);
}

/**
 * Loads the tenant's rules (cached), the principal and its exemptions, evaluates, and stores the
 * receipt with its audit event in one transaction (shared with concurrent decisions: group
 * commit). A decision that cannot be stored is not returned, and a store that cannot be read
 * yields `store.unavailable`: never `allow`.
 *
 * Callers check roles and where the evidence came from first: the decision API refuses
 * federated events, which only the federation use cases produce from verified assertions.
 */
export async function decideAndRecord(
  context: Context,
  services: DecisionServices,
  tenant: string,
  request: DecisionRequest,
  actor: DecisionActor,
  note?: Readonly<Record<string, unknown>>,
): Promise<Decision> {
  for (let attempt = 1; ; attempt++) {
    const prepared = await prepareDecision(context, services, tenant, request, actor, note);
    try {
      // An exemption revoked after the decision read it, before its receipt commits, would let
      // the platform through under it (and the chain record the decision after the
      // revocation): it is read again, held, as the receipt is written, and the decision made
      // again without it.
      await services.receipts.write(
        prepared.receipt,
        prepared.events,
        exemptionStillStands(tenant, prepared.decision),
      );
      return prepared.decision;
    } catch (error) {
      if (!(error instanceof StaleDecision)) throw error;
      if (attempt >= STALE_DECISION_ATTEMPTS) {
        throw new AppError("store.unavailable", "The exemption kept changing under the decision.");
      }
    }
  }
}

/** How often a decision is made again when its exemption changed before its receipt committed. */
const STALE_DECISION_ATTEMPTS = 3;

/**
 * The decision API: checks the caller, refuses caller-asserted federated evidence, checks platform
 * MFA evidence against tenant-mfa's records of its verification, decides.
 */
export function decisionUseCases(
  context: Context,
  services: DecisionServices,
): Application["decisions"] {
  return {
    async decide(caller, tenant, request): Promise<Decision> {
      authorize(caller, "decision.create", tenant);
      if (typeof request.principal?.id !== "string" || request.principal.id.length === 0) {
        throw new AppError("request.invalid", "principal.id is required.");
      }
      // DESIGN invariant 3: an IdP's proof counts only when tenant-mfa verified the signed
      // assertion or token itself; a caller cannot assert what an IdP proved.
      if (request.evidence.events.some((e) => (e as { method?: unknown }).method === "federated")) {
        throw new AppError(
          "request.invalid",
          "Federated evidence is produced by tenant-mfa's own SAML and OIDC endpoints; it cannot be sent in a decision request.",
        );
      }
      // Events that name their verification are checked as the decision reads its inputs.
      if ((context.settings.decisions ?? DEFAULT_DECISION_SETTINGS).requireVerifiedEvidence) {
        refuseUnnamedVerifications(request.evidence.events);
      }
      return decideAndRecord(context, services, tenant, request, caller);
    },
    async receipt(caller, id) {
      // The role first, so that a caller without it cannot probe which receipt ids exist.
      authorize(caller, "receipt.read");
      const found = await transact(context, (r) => readRecordedReceipt(r, id));
      // Authorise against the receipt's tenant; an unknown id and a foreign one look alike.
      if (found === undefined) throw new AppError("not_found");
      authorize(caller, "receipt.read", found.tenant);
      // A receipt its event contradicts was altered after the decision: whoever reads it may act
      // on its outcome, so it is refused, never served (DESIGN invariant 1). One without its
      // event is served: receipts recorded before they were bound have none to be found by id,
      // and `audit verify` reports a receipt that no chain records.
      if (found.problem === "receipt_mismatch") {
        throw new AppError("receipt.tampered", undefined, { decision: id });
      }
      return {
        ...found.receipt,
        recordedBy: found.problem === undefined ? recordedEventId(found.receipt.id) : null,
      };
    },
  };
}
