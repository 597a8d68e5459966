import type { Decision } from "../../core/decision.js";
import type { AuthenticationEvent, EnrolledAuthenticator } from "../../core/evidence.js";
import { agedWhileHeld } from "../../core/idp-authentication-age.js";
import type {
  Application,
  Caller,
  DecisionRequest,
  FlowAction,
  FlowBrowser,
} from "../application.js";
import { readStore, transact, type Context } from "../context.js";
import {
  prepareDecision,
  previewDecision,
  recordDecision,
  type DecisionServices,
} from "../decisions/decisions.js";
import { StaleDecision } from "../decisions/receipt-writer.js";
import { VERIFICATION_THROTTLE_DEFAULTS } from "../authenticators/verification-throttle.js";
import { countsAsAttested } from "../authenticators/webauthn.js";
import { AppError } from "../errors.js";
import { hasCurrentMetadata, idpProfile, metadataExpired } from "../federation/federation.js";
import { IDP_REBOUND, judgeBinding, type BindingRefusal } from "../federation/idp-binding.js";
import { matchReturnUrl, withQueryParameter } from "../federation/return-urls.js";
import type { Repositories } from "../ports.js";
import type { BrowserSessionRecord, FlowRecord, IdpRecord } from "../records.js";
import { flowApiUseCases, type FlowParts } from "./flow-api.js";
import { flowOptions, mayBeginEnrolment, mayEnrol, type FlowMethods } from "./flow-options.js";
import {
  addFlowEvent,
  auditFlow,
  auditRefusal,
  changeFlow,
  claimIdpAnswer,
  flowUrl,
  opensWith,
  sameSecret,
  sha256,
} from "./flow-records.js";
import type {
  FlowFailureCode,
  FlowFrame,
  FlowNotice,
  FlowOption,
  FlowScreen,
} from "./flow-screens.js";
import { formTargets } from "./form-targets.js";

/** The one-time code crosses one redirect: a minute is plenty (RFC 9700 §2.1.1: short-lived). */
const CODE_TTL_SECONDS = 60;
/** However lax the policy, a browser session's evidence is never reused after half a day. */
const SESSION_MAX_SECONDS = 12 * 3600;

/** The use cases a flow drives on the principal's behalf. */
type Delegates = Pick<Application, "authenticators" | "recoveryCodes" | "webauthn" | "federation">;

/**
 * The refusals of a sign-in's start ({@link Application}'s `federation.start`) that a flow shows
 * as a refused IdP, not as its own failure: each is audited by the start as `federation.rejected`
 * (an IdP removed since the flow judged it, `not_found`, by the flow: the start has no IdP to
 * audit it at).
 */
const STARTS_REFUSED: ReadonlySet<string> = new Set([
  "idp.metadata_expired",
  "federation.rejected",
  "not_found",
]);

/** A flow's IdP removed between the flow's judgment of it and its sign-in's start. */
const IDP_REMOVED = {
  reason: "not_found",
  detail: "the IdP is no longer registered for the tenant",
} as const;

/** Ends a browser request with a failure screen. */
class FlowStop extends Error {
  constructor(readonly screen: FlowScreen) {
    super(screen.kind);
    this.name = "FlowStop";
  }
}

/** Everything the next screen depends on, read together. */
interface FlowWorld {
  readonly tenant: { readonly id: string; readonly name: string; readonly logoUrl?: string };
  readonly displayName?: string;
  readonly methods: FlowMethods;
  readonly enrolled: readonly EnrolledAuthenticator[];
  /** The tenant's IdPs whose answers may sign the principal in: the only ones offered. */
  readonly idps: readonly IdpRecord[];
  /**
   * The IdP the principal is bound to, registered now with another issuer or entity id than the
   * binding was made at: its answers are refused until an administrator binds it again.
   */
  readonly staleBinding?: IdpRecord;
  /** The tenant's other IdPs, each with why its answers may not sign the principal in. */
  readonly unboundIdps: readonly { readonly idp: IdpRecord; readonly refusal: BindingRefusal }[];
  /**
   * The principal's passkeys (by credential id) that count as attested hardware now: root
   * trusted, no clone signal standing ({@link countsAsAttested}).
   */
  readonly attestedKeys: ReadonlySet<string>;
  readonly session?: BrowserSessionRecord;
}

/**
 * Hosted challenge flows. The platform's backend creates a flow after its own first factor; the
 * browser walks it: each visit asks the engine what is still missing (a preview, no receipt),
 * each verification goes through the same use cases as the API (throttled and audited there),
 * and only a decision stored as a receipt completes the flow, with a one-time code the platform
 * exchanges for a signed assurance token. A flow belongs to the first browser that opens it.
 */
export function flowUseCases(
  context: Context,
  services: DecisionServices,
  delegates: Delegates,
  parts: FlowParts,
): Application["flows"] {
  const now = () => context.clock.now();
  const urlOf = (flow: Pick<FlowRecord, "tenant" | "id">) =>
    flowUrl(parts.publicUrl, flow.tenant, flow.id);
  /** The flow acts for its principal with the platform backend's rights, in its tenant only. */
  const actingFor = (flow: FlowRecord): Caller => ({
    id: `flow:${flow.id}`,
    name: "hosted flow",
    roles: ["platform_service"],
    tenants: [flow.tenant],
    // The browser's address is the server's own observation (`request.ip`): its failures count
    // platform-wide, though the flow acts in its tenant only.
    observesClientAddress: true,
  });
  const stop = (code: FlowFailureCode, tenant?: FlowWorld["tenant"]): never => {
    throw new FlowStop({ kind: "failed", code, ...(tenant === undefined ? {} : { tenant }) });
  };
  const audit = (flow: FlowRecord, type: string, payload: Record<string, unknown> = {}) =>
    transact(context, (r) => auditFlow(context, r, flow, type, payload));
  /**
   * Audits a sign-in at `idp` that the flow refused to start, as the start audits its own
   * refusals (`federation.rejected`), bounded as the flow's other refusals are.
   */
  const refuseIdp = (
    flow: FlowRecord,
    idp: IdpRecord,
    refusal: { readonly reason: string; readonly detail: string },
  ) => auditRefusal(context, flow, { type: "federation.rejected", idp, ...refusal });

  /**
   * The flow, if this browser may use it now; binds it to the browser on the first visit of its
   * page, which must bring the flow's opening secret (`visit.opening`, from its URL). Without the
   * secret an unbound flow is answered as one that does not exist: its id alone, which audit
   * events and logs name, never takes a flow before its user opens it. A `form` (a post, the
   * WebAuthn options fetch) never binds.
   */
  async function open(
    tenant: string,
    id: string,
    browser: FlowBrowser,
    visit: { readonly opening?: string | undefined } | "form",
  ): Promise<FlowRecord> {
    if (id.length > 100 || tenant.length > 100) stop("flow.not_found");
    const flow = await readStore(context, (r) => r.flows.get(tenant, id));
    if (flow === undefined) return stop("flow.not_found");
    const browserHash = sha256(browser.cookie);
    if (flow.browserHash !== undefined && !sameSecret(flow.browserHash, browserHash)) {
      await auditRefusal(context, flow, "flow.browser_refused");
      stop("flow.other_browser");
    }
    // Only the page binds: a form or a script's fetch comes from a page shown to the flow's
    // browser, never first (a flow created before the opening secret opens by its id alone, but
    // by its page all the same).
    if (flow.browserHash === undefined && (visit === "form" || !opensWith(flow, visit.opening))) {
      await auditRefusal(context, flow, "flow.opening_refused");
      stop("flow.not_found");
    }
    if (flow.status !== "pending") stop("flow.used");
    if (flow.expiresAt <= now().toISOString()) stop("flow.expired");
    if (flow.browserHash !== undefined) return flow;
    const bound = await changeFlow(
      context,
      tenant,
      id,
      (current) => (current.browserHash === undefined ? { ...current, browserHash } : undefined),
      () => ({ type: "flow.opened", payload: {} }),
    );
    if (bound?.browserHash === undefined || !sameSecret(bound.browserHash, browserHash)) {
      return stop("flow.other_browser");
    }
    return bound;
  }

  async function load(flow: FlowRecord, browser: FlowBrowser): Promise<FlowWorld> {
    const { tenant: t, principal: p } = flow;
    const loaded = await readStore(context, (r) =>
      Promise.all([
        r.tenants.get(t),
        r.principals.get(t, p),
        r.idps.list(t),
        r.authenticators.list(t, p),
        r.webauthnCredentials.list(t, p),
        r.recoveryCodes.status(t, p),
        r.browserSessions.get(t, p, sha256(browser.cookie)),
      ]),
    );
    const [tenant, principal, registered, totp, webauthn, recovery, session] = loaded;
    // DESIGN invariant 9, by the rule its answers are judged by: a principal bound to one IdP
    // signs in there only, and there only while it is registered at the issuer or entity id the
    // binding was made at. No other is offered: the user would prove MFA there for nothing.
    const idps = registered.filter((idp) => judgeBinding(principal, idp) === undefined);
    const unboundIdps = registered.flatMap((idp) => {
      const refusal = judgeBinding(principal, idp);
      return refusal === undefined ? [] : [{ idp, refusal }];
    });
    const staleBinding = unboundIdps.find((u) => u.refusal === IDP_REBOUND)?.idp;
    if (tenant === undefined) return stop("flow.not_found");
    const shown = {
      id: tenant.id,
      name: tenant.name,
      ...(tenant.logoUrl === undefined ? {} : { logoUrl: tenant.logoUrl }),
    };
    // DESIGN invariant 10 at every step, not only when the flow was created: a return URL the
    // tenant removed meanwhile is never sent a code (federation checks its answers the same way).
    if (matchReturnUrl(tenant.returnUrls, flow.returnTo) === undefined) {
      return stop("flow.return_to_not_allowed", shown);
    }
    const active = totp.filter((a) => a.status === "active");
    const remaining = recovery?.set.lockedAt === undefined ? (recovery?.remaining ?? 0) : 0;
    return {
      tenant: shown,
      ...(principal?.displayName === undefined ? {} : { displayName: principal.displayName }),
      methods: {
        totp: active.map((a) => ({ id: a.id, name: a.name })),
        webauthn: webauthn.length,
        recoveryCodes: remaining,
        recoveryCodeSet: (recovery?.remaining ?? 0) > 0,
        idps: idps.map((idp) => ({ id: idp.id, name: idp.displayName ?? idp.id })),
      },
      enrolled: [
        ...active.map((a) => ({ method: "totp" as const, id: a.id, label: a.name })),
        ...webauthn.map((c) => ({
          method: "webauthn" as const,
          id: c.id,
          label: c.name,
          userVerifying: c.userVerified,
          backupEligible: c.backupEligible,
          // Offered as a hardware key while its root is trusted, even with a clone signal
          // standing: its next verification whose counter grows counts as attested again.
          attested: parts.attested(c),
        })),
        ...(remaining > 0 ? [{ method: "recovery_code" as const, remaining }] : []),
      ],
      idps,
      ...(staleBinding === undefined ? {} : { staleBinding }),
      unboundIdps,
      attestedKeys: new Set(
        webauthn.filter((c) => countsAsAttested(c, parts.attested)).map((c) => c.credentialId),
      ),
      ...(session === undefined || session.expiresAt <= now().toISOString() ? {} : { session }),
    };
  }

  /**
   * What `events` prove at `at`, as the decision and the enrolment gates judge them alike. Proof
   * from an IdP registration the tenant has removed or replaced (its keys leaked, say) counts no
   * more: both end the sessions that hold it, and this catches an answer that reached a flow
   * just before. The registration's version names it: versions go on after a removal, so a new
   * registration under the same id never passes for the old one. And the IdP's own maximum
   * authentication age holds at this decision, as at a direct sign-in's: an authentication that
   * grew older than it while its answer was held, or while the flow waited for the rest of its
   * proof, proves nothing now. So with a passkey verified as attested hardware: only while the
   * operator still trusts the root its attestation chained to (a vendor's keys found cloneable,
   * say), and no clone signal of the key stands, which the credential is judged by at every use;
   * verified again, it proves what the key is trusted for now (a verification's flags are its record's, so it is not rewritten here).
   */
  function counted(
    events: readonly AuthenticationEvent[],
    world: FlowWorld,
    at: Date,
  ): AuthenticationEvent[] {
    return events.flatMap((event): AuthenticationEvent[] => {
      if (event.method === "webauthn") {
        const stillAttested =
          event.attested !== true || world.attestedKeys.has(event.credentialId ?? "");
        return stillAttested ? [event] : [];
      }
      if (event.method !== "federated") return [event];
      const idp = world.idps.find((i) => i.id === event.idp && i.version === event.idpVersion);
      return idp === undefined ? [] : [agedWhileHeld(idp, event, at)];
    });
  }

  /**
   * The decision request for the flow as it stands: the platform's first factor, the evidence
   * this browser proved for the principal lately (reused while fresh), and what this flow
   * verified. The idle timeout runs from the session's last use, whatever this flow proved: the
   * engine holds each assurance active from the later of that use and its own proof, so what the
   * user proves here is fresh, while what the session lends counts only if the session has not
   * been idle too long (a recovery code entered now never revives an idle session's passkey).
   */
  function requestOf(flow: FlowRecord, world: FlowWorld): DecisionRequest {
    const session = world.session;
    const at = now();
    const reused = counted(session?.events ?? [], world, at);
    return {
      principal: {
        id: flow.principal,
        ...(flow.population === undefined ? {} : { population: flow.population }),
        authenticators: world.enrolled,
      },
      evidence: { events: [...flow.firstFactor, ...reused, ...counted(flow.events, world, at)] },
      ...(flow.stepUp === undefined ? {} : { stepUp: flow.stepUp }),
      ...(reused.length > 0 && session !== undefined
        ? { lastActivityAt: session.lastActiveAt }
        : {}),
      // An IdP whose metadata has expired is no way in: the engine does not offer it.
      idps: world.idps.filter((idp) => hasCurrentMetadata(idp, at)).map(idpProfile),
    };
  }

  /** The frame of a page offering `options` (an IdP's sign-in among them, perhaps). */
  async function frameOf(
    flow: FlowRecord,
    world: FlowWorld,
    options: readonly FlowOption[] = [],
  ): Promise<FlowFrame> {
    const offered = new Set(options.flatMap((o) => (o.kind === "idp" ? [o.idp] : [])));
    return {
      tenant: world.tenant,
      flow: flow.id,
      principal: {
        id: flow.principal,
        ...(world.displayName === undefined ? {} : { displayName: world.displayName }),
      },
      csrfToken: flow.csrfToken,
      expiresAt: flow.expiresAt,
      stepUp: flow.stepUp !== undefined,
      formTargets: await formTargets(flow.returnTo, world.idps, offered, parts.oidc),
    };
  }

  const backWith = (flow: FlowRecord, name: string, value: string): string => {
    const url = new URL(flow.returnTo);
    url.searchParams.set(name, value);
    if (flow.state !== undefined) url.searchParams.set("state", flow.state);
    return url.href;
  };

  /**
   * Whether an enrolment may begin (and be offered) now, under `decision` (the flow's preview):
   * on a verification in the flow still fresh enough for the enrolment API, which the flow's own
   * use cases go through, or on the platform's first factor while it is a fresh sign-in
   * ({@link freshFirstFactor}); the flow's evidence as the decision counts it ({@link counted}),
   * else an IdP sign-in the decision no longer counts would still open a principal's first
   * enrolment.
   */
  const enrolmentMayBegin = (flow: FlowRecord, world: FlowWorld, decision: Decision): boolean => {
    const at = now();
    return mayBeginEnrolment(
      world.methods,
      {
        firstFactor: freshFirstFactor(flow, decision, at.getTime()),
        verified: counted(flow.events, world, at),
      },
      at.getTime() - VERIFICATION_THROTTLE_DEFAULTS.freshMfaSeconds * 1000,
    );
  };

  /**
   * The platform's first factor while within the reauthentication interval of the requirement
   * (in report-only mode, the shorter of the enforced one's and the one to be): an enrolment
   * follows a fresh sign-in (SP 800-63B-4 §4.1.2), and past that interval the engine asks for a
   * new one (`reauthenticate`, core/challenge.ts). Else a password the platform checked days
   * ago (a step-up on a long-lived platform session, which someone else may hold now) would bind
   * that holder's own authenticator to a principal that has none.
   */
  function freshFirstFactor(
    flow: FlowRecord,
    decision: Decision,
    at: number,
  ): readonly AuthenticationEvent[] {
    const intervals = [decision.requirement, decision.reportOnly?.requirement].flatMap((r) =>
      r === null || r === undefined ? [] : [r.reauthIntervalSeconds.value * 1000],
    );
    if (intervals.length === 0) return [];
    const limit = Math.min(...intervals);
    return flow.firstFactor.filter((event) => at - Date.parse(event.at) <= limit);
  }

  /** What to show next: the engine's preview decides; only allow and deny are recorded. */
  async function next(
    flow: FlowRecord,
    browser: FlowBrowser,
    notice?: FlowNotice,
  ): Promise<FlowScreen> {
    const world = await load(flow, browser);
    const request = requestOf(flow, world);
    const preview = await previewDecision(context, services, flow.tenant, request);
    if (preview.outcome === "challenge") {
      // Back from the IdP with a verified answer that still falls short: say so.
      const shortAtIdp = flow.events.at(-1)?.method === "federated";
      const told: FlowNotice | undefined =
        notice ?? (shortAtIdp ? { code: "idp.insufficient", tone: "error" } : undefined);
      return challengeScreen(flow, world, preview, told);
    }
    if (preview.outcome === "allow" && flow.acknowledgedAt === undefined) {
      if (preview.exemption !== null) {
        return {
          kind: "exemption",
          frame: await frameOf(flow, world),
          category: preview.exemption.category,
          expiresAt: preview.exemption.expiresAt,
          breakGlass: preview.exemption.breakGlass,
        };
      }
      const pending = preview.reportOnly;
      if (preview.mode === "report_only" && pending !== undefined && pending.outcome !== "allow") {
        const options = flowOptions(
          pending.challenge,
          world.methods,
          enrolmentMayBegin(flow, world, preview),
          backWith(flow, "error", "reauthenticate"),
        ).filter((option) => option.kind !== "reauthenticate");
        return {
          kind: "report_only",
          frame: await frameOf(flow, world, options),
          enforcementStartsAt: pending.enforcementStartsAt,
          options,
        };
      }
    }
    try {
      return await settle(flow, world, request, notice);
    } catch (error) {
      // The exemption the decision let the user through under was revoked after the decision
      // read it: nothing was written, and the page decides again on what stands now.
      if (error instanceof StaleDecision) return { kind: "redirect", location: urlOf(flow) };
      throw error;
    }
  }

  async function challengeScreen(
    flow: FlowRecord,
    world: FlowWorld,
    decision: Decision,
    notice?: FlowNotice,
  ): Promise<FlowScreen> {
    const offered = flowOptions(
      decision.challenge,
      world.methods,
      enrolmentMayBegin(flow, world, decision),
      backWith(flow, "error", "reauthenticate"),
    );
    const options: readonly FlowOption[] =
      offered.length > 0
        ? offered
        : [{ kind: "reauthenticate", location: backWith(flow, "error", "reauthenticate") }];
    return {
      kind: "challenge",
      frame: await frameOf(flow, world, options),
      options,
      ...(notice === undefined ? {} : { notice }),
      // What the decision counts, not every event held: an IdP sign-in whose registration the
      // tenant replaced is shown as proving nothing, as it proves nothing.
      proven: [...new Set(requestOf(flow, world).evidence.events.map((e) => e.method))],
    };
  }

  /**
   * Decides, and ends the flow by the decision: an `allow` completes the flow with a one-time code
   * and remembers the evidence in this browser; a `deny` (or a principal that policy does not
   * apply to) ends it with an explanation. The receipt commits with the flow's end, so of two
   * tabs (or instances) settling one flow together, only the one that ends it leaves a receipt.
   * A `challenge` (the rules changed since the preview) records nothing and asks again. A decision
   * under an exemption revoked since it was read ends nothing: {@link StaleDecision}.
   */
  async function settle(
    flow: FlowRecord,
    world: FlowWorld,
    request: DecisionRequest,
    notice?: FlowNotice,
  ): Promise<FlowScreen> {
    // The session whose evidence the request holds beside the flow's own (requestOf dates its
    // idle timeout exactly then), whatever the flow proved itself: a passkey remembered from
    // another tab completes a flow that proved only a recovery code, and the receipt says so.
    const reused =
      world.session !== undefined && request.lastActivityAt !== undefined
        ? world.session
        : undefined;
    const prepared = await prepareDecision(
      context,
      services,
      flow.tenant,
      request,
      { id: `flow:${flow.id}` },
      { flow: { id: flow.id, ...(reused === undefined ? {} : { reusedSession: reused.id }) } },
    );
    const { decision } = prepared;
    const decisionId = decision.id ?? "";
    const recordIt = (r: Repositories) => recordDecision(context, r, prepared);
    if (decision.outcome === "challenge") {
      return challengeScreen(flow, world, decision, notice);
    }
    if (decision.outcome !== "allow") {
      const stale = staleWayIn(world, decision);
      const staleBinding =
        stale === undefined ? undefined : { idp: stale.id, reason: IDP_REBOUND.reason };
      const denied = await changeFlow(
        context,
        flow.tenant,
        flow.id,
        (f) =>
          f.status === "pending" ? { ...f, status: "denied", decision: decisionId } : undefined,
        () => ({
          type: "flow.denied",
          payload: {
            decision: decisionId,
            reasons: decision.reasons.map((r) => r.code),
            ...(staleBinding === undefined ? {} : { staleBinding }),
          },
        }),
        recordIt,
      );
      if (denied?.decision !== decisionId) stop("flow.used", world.tenant);
      return {
        kind: "denied",
        frame: await frameOf(flow, world),
        reasons: decision.reasons,
        decision: decisionId,
        returnTo: backWith(flow, "error", "access_denied"),
        ...(stale === undefined
          ? {}
          : {
              staleBinding: {
                idp: stale.id,
                name: stale.displayName ?? stale.id,
                reason: IDP_REBOUND.reason,
              },
            }),
      };
    }
    const code = context.random.secret(32);
    const codeHash = sha256(code);
    const at = now();
    const codeExpiresAt = new Date(at.getTime() + CODE_TTL_SECONDS * 1000).toISOString();
    const session = sessionAfter(flow, world, decision, at);
    const completed = await changeFlow(
      context,
      flow.tenant,
      flow.id,
      // Only the flow this decision was made on: one that moved on meanwhile (its evidence
      // withdrawn when an authenticator was removed, say) completes nothing.
      (f) =>
        f.status === "pending" && f.version === flow.version
          ? {
              ...f,
              status: "completed",
              decision: decisionId,
              codeHash,
              codeExpiresAt,
              // The row lives as long as its code: a flow completed near its own end would
              // otherwise be purged (by any flow's creation) while its code is still good.
              expiresAt: codeExpiresAt > f.expiresAt ? codeExpiresAt : f.expiresAt,
              ...(reused === undefined ? {} : { reusedSession: reused.id }),
            }
          : undefined,
      () => ({
        type: "flow.completed",
        payload: {
          decision: decisionId,
          ...(reused === undefined ? {} : { reusedSession: reused.id }),
        },
      }),
      // The session is kept in the completing transaction: a withdrawal of the principal's
      // proofs either comes after it and ends the session, or before it and stops the completion.
      async (r) => {
        await recordIt(r);
        if (session !== undefined) await r.browserSessions.put(session);
      },
    );
    // Still pending, on a newer version (a proof withdrawn, or added from another tab, after
    // this decision): the flow is not used up, so the page decides again on what it holds now.
    if (completed?.status === "pending") return { kind: "redirect", location: urlOf(flow) };
    if (completed?.codeHash !== codeHash) return stop("flow.used", world.tenant);
    return { kind: "redirect", location: backWith(completed, "code", code) };
  }

  /**
   * The IdP the principal is bound to, when only its stale binding ({@link FlowWorld}) left
   * `decision` without a way in: a denial for want of one (`challenge.unavailable`) under a
   * requirement that takes proof from an IdP. The page names it, and that an administrator must
   * bind the principal again, rather than only that no way exists.
   */
  function staleWayIn(world: FlowWorld, decision: Decision): IdpRecord | undefined {
    const r = decision.requirement;
    if (world.staleBinding === undefined || r === null) return undefined;
    if (!decision.reasons.some((reason) => reason.code === "challenge.unavailable")) {
      return undefined;
    }
    const fromIdp =
      (r.proofSource.value === "idp" || r.proofSource.value === "idp_or_platform") &&
      r.acceptedMethods.value.includes("federated");
    return fromIdp ? world.staleBinding : undefined;
  }

  /**
   * The browser session that keeps what the user proved (never the platform's own password
   * check) for later flows; undefined when there is nothing to keep.
   */
  function sessionAfter(
    flow: FlowRecord,
    world: FlowWorld,
    decision: Decision,
    at: Date,
  ): BrowserSessionRecord | undefined {
    const proven = (decision.satisfiedBy?.events ?? []).filter((e) => e.method !== "password");
    if (proven.length === 0 || flow.browserHash === undefined) return undefined;
    return {
      id: world.session?.id ?? `ses_${context.random.secret(16)}`,
      tenant: flow.tenant,
      principal: flow.principal,
      browserHash: flow.browserHash,
      events: proven,
      createdAt: world.session?.createdAt ?? at.toISOString(),
      lastActiveAt: at.toISOString(),
      expiresAt:
        world.session?.expiresAt ??
        new Date(at.getTime() + SESSION_MAX_SECONDS * 1000).toISOString(),
    };
  }

  /** Adds a verified event and sends the browser back to the flow page (post/redirect/get). */
  async function proved(flow: FlowRecord, event: AuthenticationEvent): Promise<FlowScreen> {
    // The count of withdrawals when the verification began: a proof withdrawn meanwhile (the
    // authenticator removed, the codes revoked) is not added, and the page asks again.
    const added = await addFlowEvent(context, flow.tenant, flow.id, event, flow.withdrawals ?? 0);
    if (added === "closed") stop("flow.used");
    return { kind: "redirect", location: urlOf(flow) };
  }

  /** A failed verification becomes a notice on the page; anything else is the server's problem. */
  function noticeFor(error: unknown, fallback: FlowNotice["code"]): FlowNotice {
    if (!(error instanceof AppError)) throw error;
    const code = error.code as string;
    if (code === "authenticator.throttled") {
      const retryAfter = error.details?.["retryAfter"];
      return {
        code: "verification.throttled",
        tone: "error",
        values: { retryAfter: typeof retryAfter === "number" ? retryAfter : 60 },
      };
    }
    if (code.endsWith(".locked")) return { code: "verification.locked", tone: "error" };
    // Not a wrong code: the enrolment waited too long, and its key no longer works.
    if (code === "authenticator.enrolment_expired") {
      return { code: "enrolment.expired", tone: "error" };
    }
    if (
      code.startsWith("totp.") ||
      code.startsWith("recovery_code.") ||
      code.startsWith("webauthn.") ||
      code.startsWith("authenticator.") ||
      code === "not_found"
    ) {
      if (code.endsWith("not_configured")) throw error;
      return { code: fallback, tone: "error" };
    }
    throw error;
  }

  async function beginTotpScreen(flow: FlowRecord, browser: FlowBrowser, notice?: FlowNotice) {
    const world = await load(flow, browser);
    const enrolment = await delegates.authenticators.beginTotp(
      actingFor(flow),
      flow.tenant,
      flow.principal,
      { name: "Authenticator app" },
    );
    return {
      kind: "enroll_totp" as const,
      frame: await frameOf(flow, world),
      authenticator: enrolment.authenticator.id,
      secret: enrolment.secret,
      uri: enrolment.uri,
      qrSvg: enrolment.qrSvg,
      ...(notice === undefined ? {} : { notice }),
    };
  }

  /**
   * Whether the passkey the flow's decision asks to enrol must be a device-bound hardware key
   * (AAL3): its registration then asks for the attestation that alone can prove it.
   */
  async function deviceBoundWanted(flow: FlowRecord, world: FlowWorld): Promise<boolean> {
    const preview = await previewDecision(context, services, flow.tenant, requestOf(flow, world));
    const wanted = [...preview.challenge, ...(preview.reportOnly?.challenge ?? [])].find(
      (option) => option.kind === "enroll" && option.method === "webauthn",
    );
    return wanted?.kind === "enroll" && wanted.deviceBound;
  }

  /**
   * Whether `decision`'s requirement (the enforced one, or in report-only mode the one to be)
   * accepts `method` on the platform: a flow begins no enrolment of a method its tenant does not
   * accept, as it goes to no IdP its decision does not ask for. Else whoever holds a principal's
   * one factor posts the form the page never offered and binds a method of their own (a TOTP
   * where only passkeys count; a TOTP or passkey where MFA is proven at the IdP only), which
   * then stands as the principal's own: for a later policy to accept, and for the real user to
   * verify before enrolling theirs. As the engine offers enrolments (core/challenge.ts): TOTP
   * proves neither phishing resistance nor AAL3.
   */
  function acceptedOnPlatform(decision: Decision, method: "totp" | "webauthn"): boolean {
    return [decision.requirement, decision.reportOnly?.requirement].some(
      (r) =>
        r !== null &&
        r !== undefined &&
        (r.proofSource.value === "platform" || r.proofSource.value === "idp_or_platform") &&
        r.acceptedMethods.value.includes(method) &&
        (method === "webauthn" || (!r.phishingResistant.value && r.minAal.value < 3)),
    );
  }

  /** Whether an enrolment of `method` may begin now, on the flow's preview as it stands. */
  async function enrolmentMayBeginNow(
    flow: FlowRecord,
    world: FlowWorld,
    method: "totp" | "webauthn",
  ): Promise<boolean> {
    const preview = await previewDecision(context, services, flow.tenant, requestOf(flow, world));
    return enrolmentMayBegin(flow, world, preview) && acceptedOnPlatform(preview, method);
  }

  /**
   * Whether an enrolment begun in time may be finished now: on what the flow's evidence still
   * proves ({@link counted}), so that an IdP sign-in whose registration was replaced since the
   * enrolment began finishes none.
   */
  async function enrolmentMayFinish(flow: FlowRecord, browser: FlowBrowser): Promise<boolean> {
    const world = await load(flow, browser);
    return mayEnrol(world.methods, {
      firstFactor: flow.firstFactor,
      verified: counted(flow.events, world, now()),
    });
  }

  async function perform(
    flow: FlowRecord,
    browser: FlowBrowser,
    action: FlowAction,
  ): Promise<FlowScreen> {
    const caller = actingFor(flow);
    const { tenant, principal } = flow;
    const submitted = { clientAddress: browser.clientAddress };
    switch (action.kind) {
      case "verify_totp":
        try {
          const { event } = await delegates.authenticators.verifyTotp(
            caller,
            tenant,
            principal,
            action.authenticator,
            { code: action.code, ...submitted },
          );
          return await proved(flow, event);
        } catch (error) {
          return next(flow, browser, noticeFor(error, "totp.invalid_code"));
        }
      case "verify_recovery_code":
        try {
          const { event } = await delegates.recoveryCodes.verify(caller, tenant, principal, {
            code: action.code,
            ...submitted,
          });
          return await proved(flow, event);
        } catch (error) {
          return next(flow, browser, noticeFor(error, "recovery_code.invalid"));
        }
      case "verify_webauthn":
        try {
          const { event } = await delegates.webauthn.finishAuthentication(
            caller,
            tenant,
            principal,
            action.ceremony,
            { response: action.response, ...submitted },
          );
          return await proved(flow, event);
        } catch (error) {
          return next(flow, browser, noticeFor(error, "webauthn.failed"));
        }
      case "enroll_totp":
        if (!(await enrolmentMayBeginNow(flow, await load(flow, browser), "totp"))) {
          return next(flow, browser, { code: "enrolment.not_allowed", tone: "error" });
        }
        return beginTotpScreen(flow, browser);
      case "confirm_totp": {
        if (!(await enrolmentMayFinish(flow, browser))) {
          return next(flow, browser, { code: "enrolment.not_allowed", tone: "error" });
        }
        try {
          await delegates.authenticators.confirmTotp(
            caller,
            tenant,
            principal,
            action.authenticator,
            {
              code: action.code,
              ...submitted,
            },
          );
        } catch (error) {
          // The secret was shown once; a failed confirmation (an expired one too, which the API
          // removed) starts a fresh enrolment, if one may begin now (else the page asks for a
          // fresh verification first): no page offers to confirm one that cannot be.
          // One gone altogether was removed past its time (purged) or replaced by newer ones:
          // its key no longer works either, and no code was wrong.
          const notice: FlowNotice =
            error instanceof AppError && error.code === "not_found"
              ? { code: "enrolment.expired", tone: "error" }
              : noticeFor(error, "enrolment.confirm_failed");
          if (!(await enrolmentMayBeginNow(flow, await load(flow, browser), "totp")))
            return next(flow, browser, notice);
          return beginTotpScreen(flow, browser, notice);
        }
        // The first code proves possession of the new authenticator now (its step is used).
        return proved(flow, { method: "totp", source: "platform", at: now().toISOString() });
      }
      case "enroll_webauthn": {
        const world = await load(flow, browser);
        if (!(await enrolmentMayBeginNow(flow, world, "webauthn"))) {
          return next(flow, browser, { code: "enrolment.not_allowed", tone: "error" });
        }
        return {
          kind: "enroll_webauthn",
          frame: await frameOf(flow, world),
          deviceBound: await deviceBoundWanted(flow, world),
        };
      }
      case "register_webauthn": {
        if (!(await enrolmentMayFinish(flow, browser))) {
          return next(flow, browser, { code: "enrolment.not_allowed", tone: "error" });
        }
        try {
          const credential = await delegates.webauthn.finishRegistration(
            caller,
            tenant,
            principal,
            action.ceremony,
            { response: action.response, name: action.name ?? "Passkey" },
          );
          // Registration proved possession, and user verification when the flag says so.
          return await proved(flow, {
            method: "webauthn",
            source: "platform",
            at: now().toISOString(),
            userVerified: credential.userVerified,
            backupEligible: credential.backupEligible,
            attested: credential.attested,
            credentialId: credential.credentialId,
          });
        } catch (error) {
          return next(flow, browser, noticeFor(error, "webauthn.failed"));
        }
      }
      case "idp": {
        const world = await load(flow, browser);
        const refused = () => next(flow, browser, { code: "idp.rejected", tone: "error" });
        const idp = world.idps.find((i) => i.id === action.idp);
        if (idp === undefined) {
          // A form the page did not show (an old tab's, or forged), for an IdP whose answers may
          // not sign the principal in: audited as the start would refuse it, so it is traceable.
          // One the tenant never registered names nothing worth a row, and its id is the
          // sender's choice: unaudited, so no one can grow the chain with them.
          const unbound = world.unboundIdps.find((u) => u.idp.id === action.idp);
          if (unbound !== undefined) await refuseIdp(flow, unbound.idp, unbound.refusal);
          return refused();
        }
        // Ask the IdP for exactly what this flow's decision lacks: the step-up's maximum age and
        // phishing resistance included, and a fresh authentication once it answered without
        // enough (else it answers again from its session: REFEDS MFA profile, step-up).
        const preview = await previewDecision(context, services, tenant, requestOf(flow, world));
        const option = [...preview.challenge, ...(preview.reportOnly?.challenge ?? [])].find(
          (o) => o.kind === "idp_step_up" && (o.idp === undefined || o.idp === action.idp),
        );
        // Only a way the page offers: an IdP the decision does not ask for (a platform_mfa
        // tenant's, say) is no way into this flow.
        if (option?.kind !== "idp_step_up") {
          // Not offered as its metadata expired before the page was shown: audited as above.
          const expired = metadataExpired(idp, now());
          if (expired !== undefined) {
            await refuseIdp(flow, idp, { reason: expired.error.code, detail: expired.detail });
          }
          return refused();
        }
        const retry = [...flow.events, ...(world.session?.events ?? [])].some(
          (e) => e.method === "federated" && e.idp === action.idp,
        );
        const ask = {
          acrValues: option.acrValues,
          maxAgeSeconds: option.maxAgeSeconds,
          forceAuthn: option.forceAuthn || retry,
        };
        await audit(flow, "flow.idp_started", {
          idp: action.idp,
          asked: ask,
          ...(retry ? { force: true } : {}),
        });
        let started: { readonly location: string };
        try {
          started = await delegates.federation.start(tenant, action.idp, {
            returnTo: urlOf(flow),
            principal,
            flow: flow.id,
            // An answer to this sign-in counts for nothing if the principal's proofs are withdrawn
            // before the browser claims it, even before the answer is held on the flow.
            flowWithdrawals: flow.withdrawals ?? 0,
            ask,
            ...(retry ? { force: true } : {}),
            clientAddress: browser.clientAddress,
          });
        } catch (error) {
          // The IdP changed since this action judged it (registered again elsewhere, its
          // metadata expired, removed): the start refused it, audited there (a removal here), and
          // the page says so, with the ways left.
          if (!(error instanceof AppError) || !STARTS_REFUSED.has(error.code)) throw error;
          if (error.code === "not_found") await refuseIdp(flow, idp, IDP_REMOVED);
          return refused();
        }
        return { kind: "redirect", location: started.location };
      }
      case "continue": {
        await changeFlow(
          context,
          tenant,
          flow.id,
          (f) =>
            f.acknowledgedAt === undefined
              ? { ...f, acknowledgedAt: now().toISOString() }
              : undefined,
          () => ({ type: "flow.acknowledged", payload: {} }),
        );
        return { kind: "redirect", location: urlOf(flow) };
      }
    }
  }

  /** Runs a browser request, turning a stop into its screen. */
  async function browsing(work: () => Promise<FlowScreen>): Promise<FlowScreen> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof FlowStop) return error.screen;
      throw error;
    }
  }

  async function checked(tenant: string, id: string, browser: FlowBrowser, csrf: string) {
    const flow = await open(tenant, id, browser, "form");
    if (typeof csrf !== "string" || !sameSecret(csrf, flow.csrfToken)) {
      await auditRefusal(context, flow, "flow.csrf_refused");
      stop("flow.csrf");
    }
    return flow;
  }

  return {
    ...flowApiUseCases(context, parts),
    show(tenant, id, browser, options = {}) {
      const notice: FlowNotice | undefined =
        options.notice === undefined ? undefined : { code: options.notice, tone: "error" };
      return browsing(async () => {
        const flow = await open(tenant, id, browser, { opening: options.opening });
        // Back from the IdP: only the flow's own browser (open checked it) claims the answer,
        // then sees the flow at its plain URL, without the answer's id; an answer refused at the
        // claim sends it where an answer refused at the ACS or callback does.
        const claim =
          options.answer === undefined
            ? "none"
            : await claimIdpAnswer(context, flow, options.answer);
        if (claim === "claimed") return { kind: "redirect", location: urlOf(flow) };
        if (claim === "refused") {
          const location = withQueryParameter(new URL(urlOf(flow)), "notice", "idp.rejected");
          return { kind: "redirect", location };
        }
        return next(flow, browser, notice);
      });
    },

    enter(tenant, id, browser, opening) {
      return browsing(async () => {
        const flow = await open(tenant, id, browser, { opening });
        return { kind: "redirect", location: urlOf(flow) };
      });
    },

    act(tenant, id, browser, action) {
      return browsing(async () =>
        perform(await checked(tenant, id, browser, action.csrf), browser, action),
      );
    },

    async webauthnOptions(tenant, id, browser, input) {
      let flow: FlowRecord;
      try {
        flow = await checked(tenant, id, browser, input.csrf);
      } catch (error) {
        if (error instanceof FlowStop && error.screen.kind === "failed") {
          throw new AppError("flow.unusable", undefined, { reason: error.screen.code });
        }
        throw error;
      }
      const caller = actingFor(flow);
      if (input.purpose === "registration") {
        const world = await load(flow, browser);
        if (!(await enrolmentMayBeginNow(flow, world, "webauthn"))) {
          throw new AppError("flow.enrolment_not_allowed");
        }
        const hardware = await deviceBoundWanted(flow, world);
        const begun = await delegates.webauthn.beginRegistration(
          caller,
          tenant,
          flow.principal,
          hardware ? { attestation: "direct" } : {},
        );
        return { ceremony: begun.registration, options: begun.options };
      }
      const begun = await delegates.webauthn.beginAuthentication(caller, tenant, flow.principal);
      return { ceremony: begun.authentication, options: begun.options };
    },
  };
}
