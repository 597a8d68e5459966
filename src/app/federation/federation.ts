import { recordRefusalCounts } from "./record-refusal-counts.js";
import { RefusalBudget } from "./refusal-budget.js";
import { openSealed } from "../secrets/open-sealed.js";
import type { Decision } from "../../core/decision.js";
import { evaluate } from "../../core/evaluate.js";
import type { FederatedEvent } from "../../core/evidence.js";
import { assessIdpClaims, type IdpAssessment } from "../../core/idp-assurance.js";
import { agedWhileHeld, olderThanAccepted } from "../../core/idp-authentication-age.js";
import type { IdpProfile } from "../../core/input.js";
import { subjectPrincipalIdFlaw } from "../../core/principal-id.js";
import type { PlatformMandate, TenantPolicy } from "../../core/policy.js";
import type { Population } from "../../core/vocabulary.js";
import type { Application, DecisionRequest, FederationRedirect } from "../application.js";
import { readStore, recordAudit, transact, type Context } from "../context.js";
import {
  decideAndRecord,
  prepareDecision,
  recordDecision,
  type DecisionServices,
} from "../decisions/decisions.js";
import { clientKey } from "../authenticators/verification-throttle.js";
import { StaleDecision } from "../decisions/receipt-writer.js";
import { AppError } from "../errors.js";
import { isInternalAddress } from "../internal-address.js";
import { MAX_CLOCK_SKEW_SECONDS } from "../idps/idps.js";
import {
  INSTANCE_CLOCK_DRIFT_SECONDS,
  LAST_STORABLE_TIME_MS,
  type Repositories,
  type Timers,
} from "../ports.js";
import type { FederationAnswerRecord, FederationRequestRecord, IdpRecord } from "../records.js";
import { observeIdp } from "./drift.js";
import { bindingRefusal, judgeBinding } from "./idp-binding.js";
import { holdIdpAnswer, flowUrl, sameSecret, sha256 } from "../flows/flow-records.js";
import {
  clientSecretContext,
  codeVerifierContext,
  idpEndpoints,
  serviceProvider,
  type FederationParts,
} from "./endpoints.js";
import type { OidcIdpSettings } from "./protocols.js";
import type { SignInSettingsCache } from "./sign-in-settings-cache.js";
import { matchReturnUrl, withQueryParameter } from "./return-urls.js";

const DEFAULT_REQUEST_TTL_SECONDS = 600;
/**
 * How long a direct SAML sign-in's verified answer waits for its browser to claim it. The ACS
 * redirects that browser at once, so this only needs to cover a slow redirect; SP 800-63C-4 keeps
 * an assertion reference valid 5 minutes at most.
 */
const ANSWER_TTL_SECONDS = 300;
/** A held answer's one-time id: 24 random bytes, base64url. */
const ANSWER_ID = /^[A-Za-z0-9_-]{32}$/;
/** The refusal reasons that a problem reports with their own code (others: federation.rejected). */
const OWN_CODE_REASONS = [
  "federation.request_unknown",
  "federation.subject_mismatch",
  "federation.browser_mismatch",
  "federation.answer_unknown",
] as const;
/** SAML has no `max_age`: below this maximum age, ask the IdP to authenticate afresh. */
const FORCE_AUTHN_BELOW_SECONDS = 3600;
/**
 * How long past its own expiry a one-time proof (an assertion id, a nonce) stays claimed. An
 * answer passes its verifier until its expiry plus the IdP's skew on the clock of the instance it
 * reaches; the claim must outlive that on every instance, or an unsolicited answer (with no
 * request to consume) could be replayed once it is purged. So: the largest skew a registration
 * may ever be given (an administrator may raise it after the claim) plus the instances' drift
 * (the purge runs on whichever instance's clock, perhaps one ahead).
 */
const PROOF_KEPT_BEYOND_EXPIRY_MS = (MAX_CLOCK_SKEW_SECONDS + INSTANCE_CLOCK_DRIFT_SECONDS) * 1000;

/**
 * Until when a one-time proof expiring at `expiresAt` stays claimed: {@link
 * PROOF_KEPT_BEYOND_EXPIRY_MS} past it, but no later than the store can say
 * ({@link LAST_STORABLE_TIME_MS}). An answer valid to the end of the year 9999 (an OIDC `exp` of
 * 253402300799, a SAML NotOnOrAfter of 9999-12-31T23:59:59Z) is claimed to the last storable
 * instant, kept as good as for ever, and judged as any other; unclamped, its claim's time was
 * past what a time in the store can be, and the answer failed as a store outage.
 */
function proofKeptUntil(expiresAt: Date): string {
  const until = Math.min(expiresAt.getTime() + PROOF_KEPT_BEYOND_EXPIRY_MS, LAST_STORABLE_TIME_MS);
  return new Date(until).toISOString();
}

/** What the IdP answered, once its verifier accepted it. */
interface VerifiedAnswer {
  readonly subject: string;
  readonly authenticatedAt: Date;
  readonly contexts: readonly string[];
  readonly amr?: readonly string[];
  /** The one-time proof: (scope, key) is claimed in the store until `expiresAt`. */
  readonly proof: { readonly scope: string; readonly key: string; readonly expiresAt: Date };
  /** What the receipt keeps of the IdP's own values. */
  readonly claims: Readonly<Record<string, unknown>>;
}

/**
 * What a refusal's audit event and explanation need of the sign-in it refused: a remembered
 * request, or what a held answer kept of it.
 */
type RequestRef = Pick<FederationRequestRecord, "id" | "returnTo" | "principalHint" | "flow">;

/** A refusal: its stable reason code, audited, and shown to the user as an explanation. */
class Refusal extends Error {
  constructor(
    readonly reason: string,
    readonly detail: string,
    readonly mfaUnavailable = false,
    /** For a SAML error status: whether the IdP signed it (kept in the audit event). */
    readonly statusSigned?: boolean,
  ) {
    super(detail);
    this.name = "Refusal";
  }
}

/**
 * Sign-in at the tenant's own IdP (SAML 2.0 Web Browser SSO, OIDC authorization code with PKCE).
 * `start` asks the IdP for what the effective requirement needs and remembers the request; the
 * answer is verified by the protocol's verifier, matched to that request once, checked against
 * the expected subject, turned into federated evidence by the tenant's mapping, and decided by
 * the engine. The browser returns to a registered URL with the decision id. Every refusal is
 * audited with its reason code.
 */
export function federationUseCases(
  context: Context,
  services: DecisionServices,
  federation: FederationParts | undefined,
  signIns: SignInSettingsCache,
  timers: Timers,
): Application["federation"] & { readonly close: () => Promise<void> } {
  const parts = (): FederationParts => {
    if (federation === undefined) throw new AppError("federation.not_configured");
    return federation;
  };
  let lastPurge = 0;
  // A failure (the store is out) loses the counts, as the refusals themselves would be lost: the
  // budget reports it as a warning.
  const refusals = new RefusalBudget(context.clock, timers, async (closed) => {
    await transact(context, (r) => recordRefusalCounts(context, r, closed));
  });

  /** Everything an answer is checked against, read in one transaction. */
  async function loadSignIn<P extends IdpRecord["protocol"]>(
    tenant: string,
    id: string,
    protocol: P | undefined,
    requestId?: string,
  ) {
    const loaded = await readStore(context, async (r) => {
      const [settings, request] = await Promise.all([
        signIns.settings(r, tenant, id),
        requestId === undefined || requestId.length === 0 || requestId.length > 200
          ? undefined
          : r.federationRequests.get(requestId),
      ]);
      return { idp: settings?.idp, returnUrls: settings?.returnUrls ?? [], request };
    });
    const { idp } = loaded;
    if (idp === undefined || (protocol !== undefined && idp.protocol !== protocol)) {
      throw new AppError("not_found", "There is no such identity provider for this tenant.");
    }
    return { ...loaded, idp: idp as Extract<IdpRecord, { protocol: P }> };
  }

  /** What the effective requirement asks of this IdP, from the engine's own step-up guidance. */
  function plan(
    idp: IdpRecord,
    rules: { policy: TenantPolicy; mandates: readonly PlatformMandate[]; population: Population },
    principal: string | undefined,
    force: boolean,
    now: Date,
  ) {
    const planned = evaluate(
      {
        tenant: idp.tenant,
        policy: rules.policy,
        mandates: rules.mandates,
        principal: { id: principal ?? "(not yet known)", population: rules.population },
        evidence: { events: [] },
        idps: [idpProfile(idp)],
      },
      { now },
    );
    const stepUp = planned.challenge.find(
      (option) => option.kind === "idp_step_up" && option.idp === idp.id,
    );
    const asked = stepUp?.kind === "idp_step_up" ? stepUp : undefined;
    return {
      requested: asked?.acrValues ?? [],
      maxAgeSeconds: maxAgeToAsk(idp, asked?.maxAgeSeconds),
      forceAuthn: force || (asked?.forceAuthn ?? false),
    };
  }

  /** Expired requests and proofs go, at most once a minute, with the next request remembered. */
  async function purgeIfDue(r: Repositories, now: Date): Promise<void> {
    if (now.getTime() - lastPurge < 60_000) return;
    lastPurge = now.getTime();
    await r.federationRequests.purge(now.toISOString());
    await r.federationAnswers.purge(now.toISOString());
    await r.oneTimeProofs.purge(now.toISOString());
  }

  /** The remembered request an answer claims to belong to, or a refusal. */
  function pending(
    idp: IdpRecord,
    requestId: string | undefined,
    request: FederationRequestRecord | undefined,
  ): FederationRequestRecord | undefined {
    if (requestId === undefined) return undefined;
    if (
      request === undefined ||
      request.tenant !== idp.tenant ||
      request.idp !== idp.id ||
      // The IdP id registered again for the other protocol: an OIDC sign-in's state posted as
      // a SAML answer's RelayState is not that answer's request (its answer is bound to no
      // browser), nor the reverse.
      request.protocol !== idp.protocol ||
      request.consumedAt !== undefined ||
      request.expiresAt <= context.clock.now().toISOString()
    ) {
      throw new Refusal("federation.request_unknown", "no pending sign-in matches the answer");
    }
    return request;
  }

  /**
   * The state of one answer: the IdP, the tenant's return URLs, the request it belongs to, and
   * the client address it came from (for the refusal budget), when known.
   */
  type SignIn = Awaited<ReturnType<typeof loadSignIn>> & { readonly clientAddress?: string };

  /**
   * Appends `refusal` to the IdP's tenant's chain, in a transaction of its own, within the IdP's
   * refusal budget and the client address's share of it (past them, refusals are counted, and the
   * minute's count is recorded when it ends: {@link RefusalBudget}).
   */
  async function auditRefusal(
    idp: IdpRecord,
    refusal: Refusal,
    request: RequestRef | undefined,
    clientAddress: string | undefined,
    /** A change that the refusal's event records, committed with it (DESIGN invariant 4). */
    alongside?: (r: Repositories) => Promise<void>,
  ): Promise<void> {
    const admitted = refusals.admit(idp.tenant, idp.id, refusal.reason, addressKey(clientAddress));
    const { closed } = admitted;
    if (!admitted.record && closed === undefined && alongside === undefined) return;
    await transact(context, async (r) => {
      // The minute before ended with refusals counted: its count first, as its timer would have.
      if (closed !== undefined) await recordRefusalCounts(context, r, [closed]);
      if (alongside !== undefined) await alongside(r);
      if (!admitted.record) return;
      await recordAudit(context, r, {
        tenant: idp.tenant,
        type: refusal.mfaUnavailable ? "federation.mfa_unavailable" : "federation.rejected",
        actor: `idp:${idp.id}`,
        payload: {
          idp: idp.id,
          protocol: idp.protocol,
          reason: refusal.reason,
          detail: refusal.detail,
          ...(refusal.statusSigned === undefined ? {} : { statusSigned: refusal.statusSigned }),
          ...(request === undefined ? {} : { request: request.id }),
          ...principalOf(request),
          ...(admitted.countedUntil === undefined ? {} : { countedUntil: admitted.countedUntil }),
        },
      });
    });
  }

  /**
   * Refuses to start a sign-in at a known IdP: audited as a refused answer is, so that the
   * tenant's administrator sees why its people cannot sign in there, then answered with the
   * start's own problem. The detail is this service's words: nothing of the request (a hint, a
   * return URL) is kept, as anyone may send one. Each refusal counts against the client address's
   * limit on unauthenticated routes (src/http/rate-limit.ts), shared with the ACS and callback,
   * whose refusals are audited too: auditing here lets no address append more events than those.
   * The reason audited is the problem's code, or its `details.reason` when it has one.
   */
  async function refuseStart(
    idp: IdpRecord,
    error: AppError,
    detail: string,
    clientAddress: string | undefined,
  ): Promise<never> {
    const reason = error.details?.["reason"];
    await auditRefusal(
      idp,
      new Refusal(typeof reason === "string" ? reason : error.code, detail),
      undefined,
      clientAddress,
    );
    throw error;
  }

  async function refuse(
    signIn: SignIn,
    refusal: Refusal,
    request: RequestRef | undefined,
  ): Promise<FederationRedirect> {
    const { idp } = signIn;
    await auditRefusal(idp, refusal, request, signIn.clientAddress);
    // A flow's sign-in goes back to the flow page, which says so and offers the ways left.
    if (request?.flow !== undefined) {
      const notice = refusal.mfaUnavailable ? "idp.mfa_unavailable" : "idp.rejected";
      return { location: withQueryParameter(new URL(request.returnTo), "notice", notice) };
    }
    const back = request === undefined ? undefined : stillRegistered(signIn, request.returnTo);
    // The IdP could not do MFA: the platform learns it and continues, with platform MFA where
    // the posture allows it ("MFA with retry", seed 004). Never a decision that allows.
    if (refusal.mfaUnavailable && back !== undefined) {
      return { location: withQueryParameter(back, "error", "idp_mfa_unavailable") };
    }
    throw new AppError(
      OWN_CODE_REASONS.find((code) => code === refusal.reason) ?? "federation.rejected",
      undefined,
      {
        reason: refusal.reason,
        ...(back === undefined ? {} : { returnTo: back.href }),
      },
    );
  }

  /**
   * The URL to return to, only while the tenant registers it (DESIGN invariant 10): the return
   * URLs as they are when the answer arrives (the sign-in cache drops them on the `tenant`
   * notice of any change), so a URL removed while the user was at the IdP is not redirected to.
   */
  function stillRegistered(signIn: SignIn, returnTo: string): URL | undefined {
    return matchReturnUrl(signIn.returnUrls, returnTo);
  }

  /**
   * Once verified: use the request and the proof once and note what the IdP proved (one
   * transaction), check the subject, and decide and send the browser back; or, for a direct SAML
   * sign-in, hold the answer (in that same transaction) and send the browser to claim it (see
   * {@link FederationAnswerRecord}); or, for a flow's, hand it to the flow.
   */
  async function complete(
    signIn: SignIn,
    request: FederationRequestRecord | undefined,
    answer: VerifiedAnswer,
    unsolicitedReturn: string | undefined,
  ): Promise<FederationRedirect> {
    const { idp } = signIn;
    const now = context.clock.now();
    const skewMs = idp.clockSkewSeconds * 1000;
    if (answer.authenticatedAt.getTime() > now.getTime() + skewMs) {
      throw new Refusal(
        "federation.authentication_in_future",
        "the IdP's authentication time lies ahead",
      );
    }
    const assessment = assess(idp, answer, request, now);
    const event: FederatedEvent = {
      method: "federated",
      source: "idp",
      tenant: idp.tenant,
      idp: idp.id,
      idpVersion: idp.version,
      at: answer.authenticatedAt.toISOString(),
      assurance: assessment.assurance,
      claims: {
        ...answer.claims,
        recognised: assessment.recognised,
        unmapped: assessment.unmapped,
        ...(assessment.tooOld ? { authenticationTooOld: true } : {}),
        ...(assessment.notForced ? { authenticationNotForced: true } : {}),
      },
    };
    // A direct sign-in's SAML answer came in a cross-site POST, without the browser's cookie:
    // it is held for the browser that started the sign-in, which claims it with this id.
    const held = heldFor(request, answer.subject, event, now);
    // Decided inside the transaction, thrown outside it: whatever is thrown inside counts as the
    // store failing. The request stays used either way.
    const refusal = await transact(context, async (r) => {
      if (
        request !== undefined &&
        !(await r.federationRequests.consume(request.id, now.toISOString()))
      ) {
        return new Refusal("federation.request_unknown", "the sign-in was completed already");
      }
      const keptUntil = proofKeptUntil(answer.proof.expiresAt);
      if (!(await r.oneTimeProofs.claim(answer.proof.scope, answer.proof.key, keptUntil))) {
        return new Refusal("federation.replayed", "this assertion or nonce was used before");
      }
      // Drift is about what the IdP says, not about how old this one answer is.
      await observe(r, idp, assessment.claimed, now);
      // The subject becomes the decision's principal id: one that could pass for another
      // principal's (an invisible character, a decomposed accent) names no principal.
      const flaw = subjectPrincipalIdFlaw(answer.subject);
      if (flaw !== undefined) return new Refusal("federation.subject_unusable", flaw);
      // DESIGN invariant 9: judged here, and again when a held answer is claimed.
      const unbound = await bindingRefusal(r, idp, answer.subject);
      if (unbound !== undefined) return new Refusal(unbound.reason, unbound.detail);
      // DESIGN invariant 9: a hint never decides who signed in; a different subject is refused.
      if (request?.principalHint !== undefined && request.principalHint !== answer.subject) {
        return new Refusal(
          "federation.subject_mismatch",
          "the IdP authenticated another subject than the sign-in was started for",
        );
      }
      if (held !== undefined) {
        // What the chain would otherwise learn only from a decision that may never come (the
        // answer reached another browser, or none came back): DESIGN invariant 4.
        await r.federationAnswers.insert(held.record);
        await recordAudit(context, r, {
          tenant: idp.tenant,
          type: "federation.answer_held",
          actor: `idp:${idp.id}`,
          payload: {
            idp: idp.id,
            protocol: idp.protocol,
            request: held.record.request,
            subject: answer.subject,
            at: event.at,
            expiresAt: held.record.expiresAt,
          },
        });
      }
      return undefined;
    });
    if (refusal !== undefined) throw refusal;
    if (held !== undefined) return completionRedirect(idp, held.answerId);
    if (request?.flow !== undefined) {
      // The flow decides, with this event beside what else the user proved there, once its own
      // browser comes back with the answer's id: the browser that finished at the IdP may be
      // another (an attacker's flow, its IdP link handed to the victim), and a SAML answer is
      // posted across sites, without the flow's cookie.
      const answerId = context.random.secret(24);
      // With the flow's count of withdrawals when this sign-in started: withdrawn since, the
      // answer counts for nothing when claimed.
      const { flow, flowWithdrawals } = request;
      const held = await holdIdpAnswer(context, idp.tenant, flow, {
        answerId,
        event,
        request: request.id,
        protocol: idp.protocol,
        withdrawalsSeen: flowWithdrawals,
      });
      if (held !== "added") {
        throw new Refusal("federation.request_unknown", "the flow this sign-in was for is over");
      }
      return { location: withQueryParameter(new URL(request.returnTo), "answer", answerId) };
    }
    return decide(signIn, answer.subject, event, request?.returnTo ?? unsolicitedReturn);
  }

  /**
   * The held answer of a direct SAML sign-in (`request` is one, not a flow's), with its one-time
   * id; undefined for anything else.
   */
  function heldFor(
    request: FederationRequestRecord | undefined,
    subject: string,
    event: FederatedEvent,
    now: Date,
  ): { readonly record: FederationAnswerRecord; readonly answerId: string } | undefined {
    const held = holding(request, now);
    return held === undefined
      ? undefined
      : { answerId: held.answerId, record: { ...held.record, subject, event } };
  }

  /**
   * What any answer held for a direct SAML sign-in's browser keeps (`request` is one, not a
   * flow's), with its one-time id; undefined for anything else.
   */
  function holding(request: FederationRequestRecord | undefined, now: Date) {
    if (request?.protocol !== "saml" || request.flow !== undefined) return undefined;
    // samlResponse refused a direct request without a binding before verifying its answer; were
    // one to come this far, it is refused, never decided for whichever browser posted it.
    const browserHash = requireBinding(request);
    if (browserHash === undefined) return undefined;
    const answerId = context.random.secret(24);
    return {
      answerId,
      record: {
        hash: sha256(answerId),
        tenant: request.tenant,
        idp: request.idp,
        request: request.id,
        ...(request.principalHint === undefined ? {} : { principalHint: request.principalHint }),
        returnTo: request.returnTo,
        browserHash,
        createdAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + ANSWER_TTL_SECONDS * 1000).toISOString(),
      },
    };
  }

  /**
   * The IdP could not do MFA for a direct SAML sign-in: the platform is to continue with its own
   * MFA (`returnTo?error=idp_mfa_unavailable`), but only in the browser that started the sign-in,
   * as a decision is (an OIDC error answer is checked against the cookie at the callback). The
   * outcome is held, with the refusal's audit event, and the browser sent to claim it. Anything
   * else, or a return URL the tenant no longer registers: refused as before.
   */
  async function holdMfaUnavailable(
    signIn: SignIn,
    refusal: Refusal,
    request: FederationRequestRecord | undefined,
  ): Promise<FederationRedirect> {
    // samlResponse refused an unbound direct request before verifying: `holding` cannot refuse.
    const held = refusal.mfaUnavailable ? holding(request, context.clock.now()) : undefined;
    if (held === undefined || stillRegistered(signIn, held.record.returnTo) === undefined) {
      return refuse(signIn, refusal, request);
    }
    const record: FederationAnswerRecord = { ...held.record, outcome: "mfa_unavailable" };
    await auditRefusal(signIn.idp, refusal, request, signIn.clientAddress, (r) =>
      r.federationAnswers.insert(record),
    );
    return completionRedirect(signIn.idp, held.answerId);
  }

  /** Where the ACS sends the browser to claim the answer held for it under `answerId`. */
  function completionRedirect(idp: IdpRecord, answerId: string): FederationRedirect {
    const claim = new URL(idpEndpoints(parts().publicUrl, idp.tenant, idp.id).samlCompletion);
    return { location: withQueryParameter(claim, "answer", answerId) };
  }

  /**
   * Decides on the verified `event` about `subject`, storing the receipt, and sends the browser
   * back to `returnTo` with the decision, while the tenant still registers it.
   */
  async function decide(
    signIn: SignIn,
    subject: string,
    event: FederatedEvent,
    returnTo: string | undefined,
  ): Promise<FederationRedirect> {
    const { idp } = signIn;
    const decision = await decideAndRecord(
      context,
      services,
      idp.tenant,
      decisionRequest(idp, subject, event),
      { id: `idp:${idp.id}` },
    );
    return decided(signIn, decision, returnTo);
  }

  /** Sends the browser back to `returnTo` with `decision`, while the tenant still registers it. */
  function decided(
    signIn: SignIn,
    decision: Decision,
    returnTo: string | undefined,
  ): FederationRedirect {
    const back = returnTo === undefined ? undefined : stillRegistered(signIn, returnTo);
    if (back === undefined) {
      throw new AppError("federation.return_to_not_allowed", undefined, {
        decision: decision.id,
      });
    }
    return { location: withQueryParameter(back, "decision", decision.id ?? "") };
  }

  /**
   * Sends the browser back to `returnTo` saying that the IdP could not do MFA, while the tenant
   * still registers it: the platform continues with its own MFA where the posture allows it.
   */
  function mfaUnavailableReturn(signIn: SignIn, returnTo: string): FederationRedirect {
    const back = stillRegistered(signIn, returnTo);
    if (back === undefined) throw new AppError("federation.return_to_not_allowed");
    return { location: withQueryParameter(back, "error", "idp_mfa_unavailable") };
  }

  /**
   * Refuses an answer to a direct sign-in (not a flow's) that came back to a browser other than
   * the one that started it: `browser` is the cookie it came with, if any. Checked before
   * anything of the sign-in is used (the request, the proof, an OIDC code at the IdP), so that a
   * refused attempt from another browser leaves the sign-in whole for its own.
   */
  function checkBrowser(request: FederationRequestRecord, browser: string | undefined): void {
    const bound = requireBinding(request);
    if (bound !== undefined && !sameBrowser(bound, browser)) throw otherBrowser();
  }

  /**
   * The browser a direct sign-in is bound to (the digest of its cookie), or undefined for a
   * flow's. A direct sign-in remembered before sign-ins were bound (by an earlier version, within
   * its 10 minutes) has none, and is refused: it cannot be told from a login CSRF.
   */
  function requireBinding(request: FederationRequestRecord): string | undefined {
    if (request.flow !== undefined) return undefined;
    if (request.browserHash === undefined) {
      throw new Refusal(
        "federation.browser_mismatch",
        "the sign-in was started before sign-ins were bound to the browser; start again",
      );
    }
    return request.browserHash;
  }

  function assess(
    idp: IdpRecord,
    answer: VerifiedAnswer,
    request: FederationRequestRecord | undefined,
    now: Date,
  ) {
    const claimed = assessIdpClaims(idp.mapping, {
      contexts: answer.contexts,
      ...(answer.amr === undefined ? {} : { amr: answer.amr }),
    });
    const skewMs = idp.clockSkewSeconds * 1000;
    // The IdP's authentication is older than this tenant accepts from it: it proves nothing
    // now, and the engine asks for a fresh one.
    const tooOld = olderThanAccepted(idp, answer.authenticatedAt, now);
    // A sign-in that asked the IdP to authenticate anew (ForceAuthn, prompt=login) and got an
    // authentication from before it asked: the IdP reused a session it was told not to, so the
    // answer proves nothing now either (REFEDS MFA: check the time, never assume it).
    const notForced =
      request?.forceAuthn === true &&
      answer.authenticatedAt.getTime() < Date.parse(request.createdAt) - skewMs;
    const assurance =
      tooOld || notForced ? { aal: 0 as const, phishingResistant: false } : claimed.assurance;
    return { ...claimed, assurance, tooOld, notForced, claimed };
  }

  async function observe(r: Repositories, idp: IdpRecord, claimed: IdpAssessment, now: Date) {
    const { observation, drifts } = observeIdp(
      await r.idps.observation(idp.tenant, idp.id),
      claimed,
      { tenant: idp.tenant, idp: idp.id, now: now.toISOString() },
    );
    await r.idps.observe(observation);
    for (const drift of drifts) {
      await recordAudit(context, r, {
        tenant: idp.tenant,
        type: "idp.drift",
        actor: `idp:${idp.id}`,
        payload: { idp: idp.id, ...drift },
      });
    }
  }

  /**
   * Runs a completion, turning refusals into audited answers (by `refused`: {@link refuse}
   * unless the protocol has more to do).
   */
  async function answering(
    signIn: SignIn,
    requestId: string | undefined,
    refused: (
      signIn: SignIn,
      refusal: Refusal,
      request: FederationRequestRecord | undefined,
    ) => Promise<FederationRedirect>,
    work: (request: FederationRequestRecord | undefined) => Promise<FederationRedirect>,
  ): Promise<FederationRedirect> {
    let request: FederationRequestRecord | undefined;
    try {
      request = pending(signIn.idp, requestId, signIn.request);
      return await work(request);
    } catch (error) {
      if (error instanceof Refusal) return refused(signIn, error, request);
      throw error;
    }
  }

  return {
    // The counts of the minutes under way are recorded before the store closes.
    close: () => refusals.close(),

    async samlMetadata(tenant, id) {
      const f = parts();
      const { idp } = await loadSignIn(tenant, id, "saml");
      return f.saml.metadata(serviceProvider(f.publicUrl, tenant, id), idp.saml);
    },

    async start(tenant, id, input) {
      const f = parts();
      const now = context.clock.now();
      // A flow binds its own browser; a direct sign-in is bound to the browser that starts it,
      // whose answer alone it accepts (login CSRF).
      const bound =
        input.flow === undefined ? { browserHash: bindingOf(input.browser) } : { flow: input.flow };
      // One read for everything the plan needs; the IdP is not contacted inside a transaction.
      const loaded = await readStore(context, async (r) => {
        const [settings, policy, mandates, principal] = await Promise.all([
          signIns.settings(r, tenant, id),
          services.rules.policy(tenant, async () => (await r.policies.current(tenant))?.policy),
          services.rules.mandates(() => r.mandates.listCurrent()),
          input.principal === undefined ? undefined : r.principals.get(tenant, input.principal),
        ]);
        return {
          settings,
          policy,
          mandates,
          principal,
          population: principal?.population ?? "sso",
        };
      });
      const { settings, policy } = loaded;
      if (settings === undefined || policy === undefined) {
        throw new AppError("not_found", "There is no such identity provider for this tenant.");
      }
      const { idp, returnUrls } = settings;
      const expired = metadataExpired(idp, now);
      if (expired !== undefined) {
        return refuseStart(idp, expired.error, expired.detail, input.clientAddress);
      }
      // A flow's principal (its browser holds the flow: nothing is told to a stranger) is sent
      // only where its answer can be accepted, by the rule the answer is judged by: the flow
      // judged it before calling, and the IdP may have been registered again since. A direct
      // start does not judge it (docs/federation.md): its answer is refused at the ACS or callback.
      const unbound = input.flow === undefined ? undefined : judgeBinding(loaded.principal, idp);
      if (unbound !== undefined) {
        return refuseStart(
          idp,
          new AppError("federation.rejected", undefined, { reason: unbound.reason }),
          unbound.detail,
          input.clientAddress,
        );
      }
      // A flow's sign-in returns to the flow page; anything else to a registered URL.
      const back =
        input.flow === undefined
          ? matchReturnUrl(returnUrls, input.returnTo)
          : new URL(flowUrl(f.publicUrl, tenant, input.flow));
      if (back === undefined) {
        return refuseStart(
          idp,
          new AppError("federation.return_to_not_allowed"),
          "the return URL is not registered for the tenant",
          input.clientAddress,
        );
      }
      // A flow asks what its own decision says is missing (its step-up, what the user already
      // proved); anything else asks what the policy needs of a sign-in with no evidence yet.
      const planned =
        input.ask === undefined
          ? plan(
              idp,
              { policy, mandates: loaded.mandates, population: loaded.population },
              input.principal,
              input.force ?? false,
              now,
            )
          : {
              requested: input.ask.acrValues,
              maxAgeSeconds: maxAgeToAsk(idp, input.ask.maxAgeSeconds),
              forceAuthn: input.ask.forceAuthn || (input.force ?? false),
            };
      const requestId = context.random.id("fed");
      const ttl = f.requestTtlSeconds ?? DEFAULT_REQUEST_TTL_SECONDS;
      const base = {
        id: requestId,
        tenant,
        idp: id,
        ...(input.principal === undefined ? {} : { principalHint: input.principal }),
        ...bound,
        ...(input.flowWithdrawals === undefined ? {} : { flowWithdrawals: input.flowWithdrawals }),
        returnTo: back.href,
        requested: planned.requested,
        createdAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + ttl * 1000).toISOString(),
      };
      let remembered: FederationRequestRecord;
      let location: string;
      if (idp.protocol === "saml") {
        const forceAuthn = planned.forceAuthn || planned.maxAgeSeconds < FORCE_AUTHN_BELOW_SECONDS;
        // A SAML ID must not start with a digit (xs:ID); the flow id is the RelayState.
        const samlRequestId = `_${context.random.secret(20)}`;
        remembered = {
          ...base,
          protocol: "saml",
          requestId: samlRequestId,
          forceAuthn,
          maxAgeSeconds: planned.maxAgeSeconds,
        };
        location = f.saml.authnRequestUrl(serviceProvider(f.publicUrl, tenant, id), idp.saml, {
          requestId: samlRequestId,
          authnContextClassRefs: planned.requested,
          forceAuthn,
          relayState: requestId,
          issueInstant: now,
        });
      } else {
        const nonce = context.random.secret(24);
        const codeVerifier = context.random.secret(32);
        remembered = {
          ...base,
          protocol: "oidc",
          nonce,
          sealedCodeVerifier: f.secrets.seal(codeVerifier, codeVerifierContext(requestId)),
          forceAuthn: planned.forceAuthn,
          maxAgeSeconds: planned.maxAgeSeconds,
        };
        const url = await f.oidc.authorizationUrl(oidcSettings(f, idp), {
          redirectUri: idpEndpoints(f.publicUrl, tenant, id).oidcRedirectUri,
          state: requestId,
          nonce,
          codeVerifier,
          acrValues: planned.requested,
          maxAgeSeconds: planned.maxAgeSeconds,
          forceLogin: planned.forceAuthn,
          ...(input.principal === undefined ? {} : { loginHint: input.principal }),
        });
        if (!url.ok) {
          const signIn = { idp, returnUrls, request: undefined, ...addressOf(input) };
          return refuse(signIn, new Refusal(url.rejection.code, url.rejection.detail), undefined);
        }
        location = url.value;
      }
      await transact(context, async (r) => {
        await purgeIfDue(r, now);
        await r.federationRequests.insert(remembered);
      });
      return { location };
    },

    async samlResponse(tenant, id, input) {
      const f = parts();
      // IdP-initiated: no remembered request. The verifier refuses it unless the tenant allowed
      // unsolicited responses; RelayState then may only name a registered return URL.
      const unsolicited = input.relayState === undefined || input.relayState.startsWith("http");
      const requestId = unsolicited ? undefined : input.relayState;
      const signIn = { ...(await loadSignIn(tenant, id, "saml", requestId)), ...addressOf(input) };
      const { idp } = signIn;
      return answering(signIn, requestId, holdMfaUnavailable, async (request) => {
        // The POST carries no cookie to check (a cross-site POST, SameSite=Lax): a direct
        // sign-in's answer is held for its browser to claim (samlCompletion). One started before
        // sign-ins were bound to a browser has none to be claimed by.
        if (request !== undefined) requireBinding(request);
        const verified = await f.saml.verifyResponse(
          serviceProvider(f.publicUrl, tenant, id),
          idp.saml,
          {
            samlResponse: input.samlResponse,
            ...(request?.requestId === undefined ? {} : { expectedRequestId: request.requestId }),
            now: context.clock.now(),
            clockSkewSeconds: idp.clockSkewSeconds,
          },
        );
        if (!verified.ok) {
          const { code, detail, statusSigned } = verified.rejection;
          // "MFA was not possible" is the IdP's word when it signed it, or when it answers this
          // sign-in's own request (RelayState and InResponseTo, as bound as OIDC's `state`). An
          // unsigned, unsolicited one is anyone's: a plain refusal, never "MFA unavailable".
          const mfaUnavailable =
            code === "saml.no_authn_context" && (statusSigned === true || request !== undefined);
          throw new Refusal(code, detail, mfaUnavailable, statusSigned);
        }
        const a = verified.value;
        return complete(
          signIn,
          request,
          {
            subject: a.subject,
            authenticatedAt: a.authnInstant,
            contexts: a.authnContextClassRefs,
            proof: {
              scope: `saml:${tenant}:${id}:${a.issuer}`,
              key: a.assertionId,
              expiresAt: a.expiresAt,
            },
            claims: {
              issuer: a.issuer,
              authnContextClassRefs: a.authnContextClassRefs,
              authnInstant: a.authnInstant.toISOString(),
              ...(a.nameIdFormat === undefined ? {} : { nameIdFormat: a.nameIdFormat }),
            },
          },
          unsolicited ? input.relayState : undefined,
        );
      });
    },

    async samlCompletion(tenant, id, input) {
      parts();
      const signIn = { ...(await loadSignIn(tenant, id, "saml")), ...addressOf(input) };
      const { idp } = signIn;
      const hash = ANSWER_ID.test(input.answer) ? sha256(input.answer) : undefined;
      // What the refusal's audit event names: only an answer of this tenant's IdP.
      let ref: RequestRef | undefined;
      try {
        const held =
          hash === undefined
            ? undefined
            : await readStore(context, (r) => r.federationAnswers.get(hash));
        if (held === undefined || held.tenant !== idp.tenant || held.idp !== idp.id) {
          throw new Refusal("federation.answer_unknown", "no answer is held under this id");
        }
        ref = {
          id: held.request,
          returnTo: held.returnTo,
          ...(held.principalHint === undefined ? {} : { principalHint: held.principalHint }),
        };
        const now = context.clock.now().toISOString();
        if (held.claimedAt !== undefined || held.expiresAt <= now) {
          throw new Refusal(
            "federation.answer_unknown",
            "the answer was claimed already or expired",
          );
        }
        // Another browser's visit claims nothing: the answer stays for its own browser.
        if (!sameBrowser(held.browserHash, input.browser)) throw otherBrowser();
        // Evidence checked against a registration that is gone earns nothing.
        if (!("outcome" in held) && held.event.idpVersion !== idp.version) {
          throw new Refusal(
            "federation.answer_unknown",
            "the IdP's registration changed since it answered",
          );
        }
        const claimedAlready = () =>
          new Refusal("federation.answer_unknown", "the answer was claimed already");
        if ("outcome" in held) {
          const claimed = await transact(context, (r) => r.federationAnswers.claim(held.hash, now));
          if (!claimed) throw claimedAlready();
          return mfaUnavailableReturn(signIn, held.returnTo);
        }
        const event = agedWhileHeld(idp, held.event, context.clock.now());
        const claimAndDecide = async (): Promise<Decision> => {
          const prepared = await prepareDecision(
            context,
            services,
            idp.tenant,
            decisionRequest(idp, held.subject, event),
            { id: `idp:${idp.id}` },
          );
          // Claimed and decided in one transaction: a receipt that cannot be stored leaves the
          // answer unclaimed, for its browser to come back with. A refusal is decided inside and
          // thrown outside (whatever is thrown inside counts as the store failing): the answer
          // stays claimed, as the ACS's request and proof stay used.
          const refusal = await transact(context, async (r) => {
            if (!(await r.federationAnswers.claim(held.hash, now))) return claimedAlready();
            // The principal may have been bound to another IdP since the ACS judged the answer.
            const unbound = await bindingRefusal(r, idp, held.subject);
            if (unbound !== undefined) return new Refusal(unbound.reason, unbound.detail);
            await recordDecision(context, r, prepared);
            return undefined;
          });
          if (refusal !== undefined) throw refusal;
          return prepared.decision;
        };
        // An exemption the decision used, revoked before its receipt committed, rolls the claim
        // back (StaleDecision): decided again, without it, as the decision API decides again.
        let decision: Decision;
        try {
          decision = await claimAndDecide();
        } catch (error) {
          if (!(error instanceof StaleDecision)) throw error;
          decision = await claimAndDecide();
        }
        return decided(signIn, decision, held.returnTo);
      } catch (error) {
        if (error instanceof Refusal) return refuse(signIn, error, ref);
        throw error;
      }
    },

    async oidcCallback(tenant, id, input) {
      const f = parts();
      const requestId = input.state ?? "";
      const signIn = { ...(await loadSignIn(tenant, id, "oidc", requestId)), ...addressOf(input) };
      const { idp } = signIn;
      return answering(signIn, requestId, refuse, async (request) => {
        if (request?.nonce === undefined || request.sealedCodeVerifier === undefined) {
          throw new Refusal("federation.request_unknown", "no pending sign-in matches the answer");
        }
        // A top-level GET from the IdP carries the SameSite=Lax cookie. Before the code is
        // redeemed at the IdP, or the nonce or request used: another browser's attempt uses up
        // nothing, and the sign-in's own browser can still complete it.
        checkBrowser(request, input.browser);
        const verified = await f.oidc.completeCallback(oidcSettings(f, idp), {
          callbackUrl: input.callbackUrl,
          redirectUri: idpEndpoints(f.publicUrl, tenant, id).oidcRedirectUri,
          expectedState: request.id,
          expectedNonce: request.nonce,
          codeVerifier: openSealed(
            f.secrets,
            request.sealedCodeVerifier,
            codeVerifierContext(request.id),
          ),
          ...(request.maxAgeSeconds === undefined ? {} : { maxAgeSeconds: request.maxAgeSeconds }),
          now: context.clock.now(),
          clockSkewSeconds: idp.clockSkewSeconds,
        });
        if (!verified.ok) {
          const { code, detail } = verified.rejection;
          throw new Refusal(code, detail, code === "oidc.unmet_authentication_requirements");
        }
        const t = verified.value;
        // max_age is always sent, so the verifier demands auth_time; without it, when the
        // authentication happened is unknown, and an unknown time proves nothing.
        if (t.authTime === undefined) {
          throw new Refusal("oidc.auth_time_missing", "the ID token lacks auth_time");
        }
        return complete(
          signIn,
          request,
          {
            subject: t.subject,
            authenticatedAt: t.authTime,
            contexts: t.acr === undefined ? [] : [t.acr],
            ...(t.amr === undefined ? {} : { amr: t.amr }),
            proof: {
              scope: `oidc:${tenant}:${id}:${t.issuer}`,
              key: t.nonce,
              expiresAt: t.expiresAt,
            },
            claims: t.claims,
          },
          undefined,
        );
      });
    },
  };
}

/** The client address of a federation request, as a {@link SignIn} keeps it. */
function addressOf(input: { readonly clientAddress?: string | undefined }): {
  clientAddress?: string;
} {
  return input.clientAddress === undefined ? {} : { clientAddress: input.clientAddress };
}

/**
 * The digest a direct start stores of its browser's cookie. The HTTP layer always has one (it sets
 * a fresh cookie on a browser without); a caller that has none cannot start a direct sign-in.
 */
function bindingOf(browser: string | undefined): string {
  if (browser === undefined || browser === "") {
    throw new AppError(
      "request.invalid",
      "A sign-in not started by a hosted flow is bound to the browser's cookie: none was given.",
    );
  }
  return sha256(browser);
}

/** Whether `browser` (a cookie's value, if any came) is the browser whose cookie hashes to `hash`. */
function sameBrowser(hash: string, browser: string | undefined): boolean {
  return browser !== undefined && browser !== "" && sameSecret(hash, sha256(browser));
}

/** The decision request of a verified federated `event` about `subject`, at `idp`. */
function decisionRequest(idp: IdpRecord, subject: string, event: FederatedEvent): DecisionRequest {
  return {
    principal: { id: subject, population: "sso" },
    evidence: { events: [event] },
    idps: [idpProfile(idp)],
  };
}

/** The refusal of an answer brought back by a browser other than the one that started it. */
function otherBrowser(): Refusal {
  return new Refusal(
    "federation.browser_mismatch",
    "the answer came back to another browser than the one that started the sign-in",
  );
}

/**
 * The refusal budget's key of a client address: as the verification throttle keys it (an IPv6
 * address by its /64, which one subscriber usually holds whole), or none when it is unknown, not
 * an IP address, or on an internal network, as the rate limit leaves those out (a proxy missing
 * from `trustProxy` is every client's address): the refusal then counts against the minute's
 * budget only.
 */
function addressKey(address: string | undefined): string | undefined {
  if (address === undefined || isInternalAddress(address)) return undefined;
  try {
    return clientKey(address);
  } catch {
    return undefined;
  }
}

/** What the engine needs of an IdP to give step-up guidance. */
export function idpProfile(idp: IdpRecord): IdpProfile {
  return {
    id: idp.id,
    mfaRequestValues: idp.request.mfa,
    ...(idp.request.phishingResistant.length === 0
      ? {}
      : { phishingResistantRequestValues: idp.request.phishingResistant }),
  };
}

/**
 * Whom a refused answer was expected to be about, for its audit event. A hosted flow's principal
 * is the platform's word (its backend created the flow): the `principal`. Anyone may start any
 * other sign-in naming anyone (`principal=`), so that hint is kept as `principalHint`, never as
 * the principal of an event an unauthenticated caller can bring about.
 */
function principalOf(request: RequestRef | undefined): Record<string, string> {
  const hint = request?.principalHint;
  if (hint === undefined) return {};
  return request?.flow === undefined ? { principalHint: hint } : { principal: hint };
}

/**
 * The maximum age to ask of `idp`: the requirement's, within what the tenant accepts from the IdP
 * at all, in whole seconds as OIDC's `max_age` is (OIDC Core §3.1.2.1). A requirement stored with
 * a fraction is rounded up, so the IdP is never asked for more than the requirement needs; the
 * engine still checks the evidence against the exact age.
 */
function maxAgeToAsk(idp: IdpRecord, required: number | null | undefined): number {
  const limit = idp.maxAuthenticationAgeSeconds;
  return Math.ceil(Math.min(required ?? limit, limit));
}

/**
 * Whether sign-ins may start at `idp` at `now`: a SAML IdP's registered metadata must not have
 * expired (SAML Metadata §2.3.1, §2.3.2). Past it the ACS no longer relies on the keys it names,
 * so no one is sent there, and no flow offers it, until current metadata is registered.
 */
export function hasCurrentMetadata(idp: IdpRecord, now: Date): boolean {
  const validUntil = idp.protocol === "saml" ? idp.saml.metadataValidUntil : undefined;
  return validUntil === undefined || now.getTime() < Date.parse(validUntil);
}

/** Why sign-ins may not start at `idp` at `now` ({@link hasCurrentMetadata}), if they may not. */
export function metadataExpired(
  idp: IdpRecord,
  now: Date,
): { readonly error: AppError; readonly detail: string } | undefined {
  if (hasCurrentMetadata(idp, now) || idp.protocol !== "saml") return undefined;
  const validUntil = String(idp.saml.metadataValidUntil);
  return {
    error: new AppError(
      "idp.metadata_expired",
      `The IdP metadata expired at ${validUntil} (its validUntil): the organisation's administrator must register current metadata.`,
      { validUntil },
    ),
    // The words of the ACS's refusal (saml.metadata_expired), for one story in the audit.
    detail: `the IdP metadata expired at ${validUntil} (its validUntil); register current metadata`,
  };
}

function oidcSettings(
  parts: FederationParts,
  idp: Extract<IdpRecord, { protocol: "oidc" }>,
): OidcIdpSettings {
  const { sealedClientSecret, ...settings } = idp.oidc;
  return {
    ...settings,
    clientSecret: openSealed(
      parts.secrets,
      sealedClientSecret,
      clientSecretContext(idp.tenant, idp.id),
    ),
    // Registering the IdP again ends what its caches kept from before, on every instance.
    registration: { id: JSON.stringify([idp.tenant, idp.id]), version: idp.version },
  };
}
