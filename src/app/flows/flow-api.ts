import { authorize, reaches } from "../access/permissions.js";
import type { Application, FlowRequest } from "../application.js";
import { issueAssuranceToken } from "../assurance/assurance-tokens.js";
import { canonicalJson } from "../audit/audit-chain.js";
import { readStore, transact, type Context } from "../context.js";
import { AppError } from "../errors.js";
import { boundToAnotherIdp } from "../federation/idp-binding.js";
import { matchReturnUrl } from "../federation/return-urls.js";
import type { Repositories } from "../ports.js";
import {
  EXCHANGE_REFUSED,
  type ExemptionRecord,
  type FlowRecord,
  type MandateVersionRecord,
  type PrincipalRecord,
  type ReceiptRecord,
} from "../records.js";
import { ASSURANCE_TOKEN_TYPE } from "../../core/assurance-claims.js";
import type { Decision } from "../../core/decision.js";
import { exemptionStanding } from "../../core/exemptions.js";
import { unexemptibleMandatesFor } from "../../core/mandate-scope.js";
import type { PlatformMandate } from "../../core/policy.js";
import { parseTime } from "../../core/time.js";
import type { AuthenticationEvent } from "../../core/evidence.js";
import { readRecordedReceipt } from "../decisions/recorded-receipt.js";
import {
  auditFlow,
  auditRefusal,
  auditRefusalWithoutFlow,
  changeFlow,
  openingUrl,
  sha256,
} from "./flow-records.js";
import type { SigningKeys } from "../assurance/signing-keys.js";
import type { AssuranceTokenSigner } from "../assurance/token-signer.js";
import { mandatesInForce } from "../mandates/active-mandates.js";
import type { AttestationTrust } from "../authenticators/webauthn.js";
import type { AuthorizationEndpoints } from "./form-targets.js";

/** What flows need besides the other use cases: the public URL and the token signer. */
export interface FlowParts {
  readonly publicUrl: string;
  readonly keys?: SigningKeys | undefined;
  readonly signer?: AssuranceTokenSigner | undefined;
  /** Whether an enrolled passkey counts as attested hardware now. */
  readonly attested: AttestationTrust;
  /**
   * The OIDC IdPs' authorization endpoints, which a page offering a sign-in there must let its
   * form reach; without it (no federation configured), only the issuers are named.
   */
  readonly oidc?: AuthorizationEndpoints | undefined;
}

/** Ten minutes to finish a flow, as the issue asks; at most an hour. */
const DEFAULT_TTL_SECONDS = 600;
const MIN_TTL_SECONDS = 60;
const MAX_TTL_SECONDS = 3600;

/**
 * The platform backend's side of hosted flows: create one for a principal, and exchange the
 * one-time code it ends with for a signed assurance token, once, by the API key that created it.
 */
export function flowApiUseCases(
  context: Context,
  parts: FlowParts,
): Pick<Application["flows"], "create" | "exchange"> {
  const now = () => context.clock.now();
  /** Whether a flow's one-time code is past its minute at the clock's now (no code: it is). */
  const codeExpired = (f: Pick<FlowRecord, "codeExpiresAt">): boolean =>
    (f.codeExpiresAt ?? "") <= now().toISOString();
  return {
    async create(caller, tenant, request) {
      authorize(caller, "flow.create", tenant);
      const at = now();
      const firstFactor = checkFirstFactor(request);
      const ttl = request.ttlSeconds ?? DEFAULT_TTL_SECONDS;
      if (!Number.isInteger(ttl) || ttl < MIN_TTL_SECONDS || ttl > MAX_TTL_SECONDS) {
        throw new AppError(
          "request.invalid",
          `ttlSeconds is a whole number from ${String(MIN_TTL_SECONDS)} to ${String(MAX_TTL_SECONDS)}.`,
        );
      }
      const { record, principal } = await readStore(context, async (r) => ({
        record: await r.tenants.get(tenant),
        principal: await r.principals.get(tenant, request.principal.id),
      }));
      if (record === undefined) throw new AppError("not_found", "No such tenant.");
      if (principal === undefined && request.principal.population === undefined) {
        throw new AppError(
          "principal.unknown",
          "The principal is not registered; send its population.",
        );
      }
      const back = matchReturnUrl(record.returnUrls, request.returnTo);
      if (back === undefined) throw new AppError("flow.return_to_not_allowed");
      const audience = request.audience ?? caller.id;
      // A key bound to its relying parties' audiences cannot mint tokens for another party's;
      // its own id names nobody else.
      if (
        caller.audiences !== undefined &&
        audience !== caller.id &&
        !caller.audiences.includes(audience)
      ) {
        throw new AppError("flow.audience_not_allowed", undefined, { audience });
      }
      const opening = context.random.secret(24);
      const flow: FlowRecord = {
        id: `flw_${context.random.secret(18)}`,
        tenant,
        principal: request.principal.id,
        ...(request.principal.population === undefined
          ? {}
          : { population: request.principal.population }),
        createdBy: caller.id,
        audience,
        returnTo: back.href,
        ...(request.state === undefined ? {} : { state: request.state }),
        ...(request.stepUp === undefined ? {} : { stepUp: request.stepUp }),
        firstFactor,
        events: [],
        openingHash: sha256(opening),
        csrfToken: context.random.secret(24),
        status: "pending",
        createdAt: at.toISOString(),
        updatedAt: at.toISOString(),
        expiresAt: new Date(at.getTime() + ttl * 1000).toISOString(),
        version: 1,
      };
      await transact(context, async (r) => {
        // Authenticators belong to registered principals: a principal the platform sends for
        // the first time is registered with the population it gave, as the audit log records.
        // Only if still unregistered: a registration since the read above is kept as it is.
        if (
          principal === undefined &&
          request.principal.population !== undefined &&
          (await r.principals.insert({
            tenant,
            id: request.principal.id,
            population: request.principal.population,
            createdAt: at.toISOString(),
            updatedAt: at.toISOString(),
          }))
        ) {
          await auditFlow(context, r, flow, "principal.registered", {
            id: flow.principal,
            population: request.principal.population,
            previousPopulation: null,
          });
        }
        await r.flows.purge(at.toISOString());
        await r.browserSessions.purge(at.toISOString());
        await r.flows.insert(flow);
        await auditFlow(context, r, flow, "flow.created", {
          createdBy: caller.id,
          returnTo: flow.returnTo,
          expiresAt: flow.expiresAt,
          firstFactor: firstFactor.map((e) => e.method),
          ...(flow.stepUp === undefined ? {} : { stepUp: flow.stepUp }),
        });
      });
      return {
        flow: flow.id,
        url: openingUrl(parts.publicUrl, flow, opening),
        expiresAt: flow.expiresAt,
      };
    },

    async exchange(caller, input) {
      authorize(caller, "flow.exchange");
      if (parts.keys === undefined || parts.signer === undefined) {
        throw new AppError("assurance.not_configured");
      }
      const code = typeof input.code === "string" ? input.code : "";
      // A code that names no flow is audited too, in the platform's chain and without the code
      // (auditRefusalWithoutFlow): a key guessing codes is named.
      const unknown = async (reason: "unknown_code" | "malformed_code"): Promise<never> => {
        await auditRefusalWithoutFlow(context, { reason, caller: caller.id });
        throw new AppError("flow.code_invalid");
      };
      if (code.length < 16 || code.length > 200) return unknown("malformed_code");
      const flow = await readStore(context, (r) => r.flows.findByCodeHash(sha256(code)));
      if (flow === undefined) return unknown("unknown_code");
      // Every refusal of a live code answers alike and is audited in the flow's tenant, with the
      // caller's id: a key of another tenant holds a code stolen from this one, which its
      // answer must not tell apart from any other client's (nor leave out of the audit). The
      // first of each reason by each key is, and then one a minute (auditRefusal): replaying a
      // spent code does not grow the chain a row per request.
      const refuse = async (reason: string): Promise<never> => {
        await auditRefusal(context, flow, { type: EXCHANGE_REFUSED, reason, caller: caller.id });
        throw new AppError("flow.code_invalid");
      };
      if (flow.createdBy !== caller.id || !reaches(caller, flow.tenant)) {
        await refuse("another_client");
      }
      if (flow.status === "exchanged") await refuse("replayed");
      if (flow.status !== "completed" || flow.decision === undefined) await refuse("not_completed");
      // An authenticator removed (recovery codes revoked or replaced) since the flow completed:
      // the token would vouch for a proof the change withdrew (withdraw-proofs.ts).
      if (flow.proofsWithdrawnAt !== undefined) await refuse("proofs_withdrawn");
      if (codeExpired(flow)) await refuse("expired");
      const decisionId = flow.decision ?? "";
      const found = await readStore(context, (r) => readRecordedReceipt(r, decisionId));
      if (found === undefined) return refuse("receipt_missing");
      // The token vouches for the receipt: only for the one its decision.recorded event bound.
      // The flow recorded it moments ago, so its event is there unless someone removed it.
      if (found.problem !== undefined) return refuse(found.problem);
      const { receipt } = found;
      // A sign-in an exemption let through is vouched for only while the exemption stands (see
      // refusalUnderExemption). Looked at here so that a code already refused costs no
      // signature (nor is the signer asked to sign past the exemption's end); what decides is
      // the second look, in the transaction that spends the code.
      // An IdP sign-in the decision counted vouches only while the registration that verified it
      // stands: a tenant that removed the IdP, or registered it again (its keys leaked, say),
      // stops the code a flow completed on it, as it stops every later flow from counting it; so
      // does binding the principal to another of its IdPs, whose answers alone sign it in then.
      const idpRefusal = await readStore(context, (r) =>
        idpRefusalSince(r, flow.tenant, receipt.principal, receipt.decision),
      );
      if (idpRefusal !== undefined) await refuse(idpRefusal);
      const exemption = receipt.decision.exemption;
      if (exemption !== null) {
        const early = await readStore(context, async (r) =>
          refusalUnderExemption(
            r,
            flow.tenant,
            {
              principal: () => r.principals.get(flow.tenant, receipt.principal),
              exemption: () => r.exemptions.get(flow.tenant, exemption.id),
              mandates: () => r.mandates.listCurrent(),
            },
            receipt,
            now().getTime(),
          ),
        );
        if (early !== undefined) await refuse(early);
      }
      // Signed first, outside the transaction (signing is slow), and handed out only if this
      // request is the one that spends the code.
      const issued = await issueAssuranceToken(
        context,
        { keys: parts.keys, signer: parts.signer, issuer: parts.publicUrl },
        receipt.decision,
        flow.audience,
      );
      let spent = false;
      let refusal: ExemptionRefusal | IdpRefusal | undefined;
      let withdrawn = false;
      let expired = false;
      try {
        await changeFlow(
          context,
          flow.tenant,
          flow.id,
          (f) => {
            // Checked again on the row being spent: a withdrawal commits before or after it. So
            // is the code's minute, at the clock's now: signing, or a pause, took time since the
            // first look.
            withdrawn = f.proofsWithdrawnAt !== undefined;
            const spendable = f.status === "completed" && f.codeHash === flow.codeHash;
            expired = spendable && !withdrawn && codeExpired(f);
            spent = spendable && !withdrawn && !expired;
            return spent ? { ...f, status: "exchanged" } : undefined;
          },
          () => ({ type: "flow.exchanged", payload: { decision: decisionId, caller: caller.id } }),
          async (r) => {
            // Looked at again as the code is spent: a replacement (or a binding) committed since
            // the first look.
            refusal = await idpRefusalSince(r, flow.tenant, receipt.principal, receipt.decision);
            if (refusal !== undefined) throw new AppError("flow.code_invalid");
            if (exemption !== null) {
              // After the flow's row is written, in the same transaction: a revocation, a
              // shared-login mark or a mandate committed before the spend is seen, and the
              // exemption's row, the principal's row and the mandates stay held (shared) until
              // the commit, so that a revocation, a mark or a new mandate version under way is
              // waited for and one that starts now waits for the spend. A refusal rolls the
              // spend back: the code stays unspent, as for every other refusal, and is checked
              // afresh if tried again.
              // No wait can close a cycle: this takes the flow's row, the principal's row, the
              // exemption's row, the mandates (those three shared), then its tenant's audit
              // head. A new mandate version takes the mandates before anything else, then only
              // the platform's audit head, which every path takes last. A principal's update (a
              // shared-login mark) takes the principal's row before anything else, then the rows
              // of the principal's open exemptions (it revokes them), then only its tenant's
              // audit head (its mandate check reads them unheld): it may wait for an exchange
              // that holds the principal's row, or an exchange for it, but while holding that
              // row it waits only for exemption rows, which an exchange takes after it, and an
              // audit head. An administrator's revocation takes the exemption's row, then the
              // audit head. Neither waits for a row that an exchange holds before the
              // principal's.
              refusal = await refusalUnderExemption(
                r,
                flow.tenant,
                {
                  principal: () => r.principals.holdShared(flow.tenant, receipt.principal),
                  exemption: () => r.exemptions.hold(flow.tenant, exemption.id),
                  mandates: () => r.mandates.holdCurrent(),
                },
                receipt,
                now().getTime(),
              );
              if (refusal !== undefined) throw new AppError("flow.code_invalid");
            }
            // Last before the commit: the code's minute may have ended while the spend waited
            // for the rows it holds (a busy PostgreSQL, another writer holding the flow's or
            // the exemption's row). Refused, the spend rolls back.
            expired = codeExpired(flow);
            if (expired) throw new AppError("flow.code_invalid");
          },
        );
      } catch (error) {
        if (refusal !== undefined) await refuse(refusal);
        if (expired) await refuse("expired");
        throw error;
      }
      if (withdrawn) await refuse("proofs_withdrawn");
      if (expired) await refuse("expired");
      if (!spent) await refuse("replayed");
      return {
        token: issued.token,
        tokenType: ASSURANCE_TOKEN_TYPE,
        expiresIn: issued.expiresIn,
        tenant: flow.tenant,
        principal: flow.principal,
        decision: decisionId,
      };
    },
  };
}

/**
 * The platform may vouch only for its own password check: every MFA method is proven in the
 * flow, by tenant-mfa's verifiers (DESIGN invariant 3).
 */
function checkFirstFactor(request: FlowRequest): readonly AuthenticationEvent[] {
  const verified = request.verified ?? [];
  for (const event of verified) {
    if (
      event.method !== "password" ||
      event.source !== "platform" ||
      Number.isNaN(Date.parse(event.at))
    ) {
      throw new AppError(
        "request.invalid",
        "Only the platform's own password check can be sent as verified; MFA is proven in the flow.",
      );
    }
  }
  return verified.map((event) => ({ method: "password", source: "platform", at: event.at }));
}

/** Why an IdP sign-in that a flow's decision counted no longer vouches for it. */
type IdpRefusal = "idp_replaced" | "idp_not_bound";

/**
 * Why an IdP sign-in that `decision` counted in `tenant` for `principal` no longer counts, as a
 * flow's page stops counting it (`counted` and `load` in flows.ts): verified under a registration
 * that is no longer the IdP's current one (removed, or registered again since), by the
 * registration's version, which goes on across a removal (`idp_replaced`); or the principal is
 * bound since to another of the tenant's IdPs, whose answers alone sign it in (`idp_not_bound`,
 * DESIGN invariant 9, as a held answer is refused at its claim). Evidence without a version was
 * never counted by a flow. Undefined while the sign-in counts.
 */
async function idpRefusalSince(
  r: Repositories,
  tenant: string,
  principal: string,
  decision: Decision,
): Promise<IdpRefusal | undefined> {
  for (const event of decision.satisfiedBy?.events ?? []) {
    if (event.method !== "federated") continue;
    if (event.tenant !== tenant || event.idpVersion === undefined) return "idp_replaced";
    if ((await r.idps.get(tenant, event.idp))?.version !== event.idpVersion) return "idp_replaced";
    if (await boundToAnotherIdp(r, tenant, principal, event.idp)) return "idp_not_bound";
  }
  return undefined;
}

/** Why a sign-in an exemption let through is no longer vouched for. */
type ExemptionRefusal = "exemption_ended" | "mandate_changed" | "shared_login";

/**
 * How {@link refusalUnderExemption} reads the principal, the exemption and the mandates in force,
 * in that order: plainly for the early look, held in the transaction that spends the code.
 */
interface StandingReads {
  principal(): Promise<PrincipalRecord | undefined>;
  exemption(): Promise<ExemptionRecord | undefined>;
  mandates(): Promise<readonly MandateVersionRecord[]>;
}

/**
 * Why the sign-in of `receipt` in `tenant`, which an exemption let through, is no longer vouched
 * for at `now`, given the principal, the exemption and the mandates as `reads` reads them (held,
 * in the transaction that spends the code): the principal has been marked as a shared login
 * since, which no exemption excuses (seed 001); or the exemption has ended or been revoked since
 * (the token itself ends with it); or a mandate that no exemption excuses binds the principal
 * beyond what the decision applied (an emergency uplift created since: the exemption no longer
 * lets anyone through). Undefined while it stands.
 */
async function refusalUnderExemption(
  r: Repositories,
  tenant: string,
  reads: StandingReads,
  receipt: ReceiptRecord,
  now: number,
): Promise<ExemptionRefusal | undefined> {
  // Read before the exemption, whose row a mark revokes after taking the principal's. A mark is
  // the reason given, though it has revoked the exemption too: it is why that was revoked.
  if ((await reads.principal())?.sharedLogin === true) return "shared_login";
  const record = await reads.exemption();
  if (
    record === undefined ||
    exemptionStanding(record, tenant, receipt.principal, now) !== "usable"
  ) {
    return "exemption_ended";
  }
  const since = await unexemptibleMandatesSince(r, await reads.mandates(), receipt.decision, now);
  return since.length > 0 ? "mandate_changed" : undefined;
}

/**
 * The mandates of `current` (the newest version of each) that no exemption excuses, binding
 * `decision`'s principal at `now`, whose rules the decision did not apply: new since, or changed
 * since in what they require of whom (a new version that only renames one is the rule applied).
 * Bound as the engine binds: by the principal's population and the one it was treated as.
 */
async function unexemptibleMandatesSince(
  r: Repositories,
  current: readonly MandateVersionRecord[],
  decision: Decision,
  now: number,
): Promise<PlatformMandate[]> {
  const applied = new Map(decision.versions.mandates.map((m) => [m.id, m.version]));
  const { population, treatedAs } = decision.principal;
  const inForce = mandatesInForce(current);
  const binding = new Set(
    [population, ...(treatedAs === undefined ? [] : [treatedAs])].flatMap((p) =>
      unexemptibleMandatesFor(inForce, decision.tenant, p, now),
    ),
  );
  const since: PlatformMandate[] = [];
  for (const mandate of binding) {
    if ((parseTime(mandate.activeFrom) ?? -Infinity) > now) continue;
    const version = applied.get(mandate.id);
    if (version === mandate.version) continue;
    const before =
      version === undefined
        ? undefined
        : (await r.mandates.history(mandate.id)).find((v) => v.version === version)?.mandate;
    if (before === undefined || ruleOf(before) !== ruleOf(mandate)) since.push(mandate);
  }
  return since;
}

/** What a mandate requires of whom and when, as comparable text: all but its id, version and title. */
function ruleOf(mandate: PlatformMandate): string {
  const { id: _id, version: _version, title: _title, ...rule } = mandate;
  return canonicalJson(rule);
}
