import type { PlatformMandate, TenantPolicy } from "../../core/policy.js";
import { parseTime } from "../../core/time.js";
import { OUTCOMES, POPULATIONS, type Outcome, type Population } from "../../core/vocabulary.js";
import type { EnrolledPrincipals } from "../ports.js";
import type { AuditEvent, ExemptionRecord, PrincipalRecord } from "../records.js";

/**
 * A tenant's compliance report: which policy applies and under which mandates, who can prove MFA
 * on the platform, which exemptions are due for review, and what the decisions of a period were.
 * Built from the store as it stands; `audit verify` is what proves the chain behind it intact.
 */
export interface ComplianceReport {
  readonly tenant: string;
  readonly generatedAt: string;
  /** The decisions counted: from `from` (included) to `to` (excluded). */
  readonly period: { readonly from: string; readonly to: string };
  /**
   * The tenant's audit chain as it stood when the report was begun: the decisions counted are
   * its events up to `seq`, so a checkpoint at or after it, verified (`audit verify`), proves
   * them unaltered. Absent for a chain without events.
   */
  readonly chainHead?: { readonly chain: string; readonly seq: number; readonly hash: string };
  readonly policy: PolicySummary;
  /** The platform mandates that bind the tenant now. */
  readonly mandates: readonly MandateSummary[];
  readonly principals: PrincipalCoverage;
  readonly exemptions: ExemptionReview;
  readonly decisions: DecisionSummary;
}

export interface PolicySummary {
  readonly version: number;
  readonly posture: TenantPolicy["posture"];
  /** `report_only` until the policy's enforcement start date, then `enforce`. */
  readonly mode: "enforce" | "report_only";
  readonly enforcementStartsAt?: string;
}

export interface MandateSummary {
  readonly id: string;
  readonly version: number;
  readonly title?: string;
  readonly exemptible: boolean;
  /** The populations it binds; absent: every population MFA applies to. */
  readonly populations?: readonly Population[];
  readonly activeFrom?: string;
  readonly activeUntil?: string;
}

/** A list of principal ids cut to {@link LISTED} entries, saying whether it was cut. */
export interface PrincipalList {
  readonly count: number;
  /** The first ids, in id order. */
  readonly principals: readonly string[];
  readonly truncated: boolean;
}

export interface PopulationCoverage {
  readonly registered: number;
  readonly withTotp: number;
  readonly withWebAuthn: number;
  readonly withRecoveryCodes: number;
  /** With neither TOTP nor WebAuthn: recovery codes alone are a way back, not a second factor to live on. */
  readonly withoutPlatformMfa: number;
}

export interface PrincipalCoverage {
  readonly registered: number;
  readonly sharedLogins: number;
  readonly byPopulation: Readonly<Record<Population, PopulationCoverage>>;
  /**
   * The people who sign in on the platform itself (`direct`, `api_human`) with neither TOTP nor
   * WebAuthn: under a platform posture or mandate they are challenged to enrol at their next
   * sign-in. (`sso` people may prove MFA at their IdP, so they are only counted, above.)
   */
  readonly directWithoutPlatformMfa: PrincipalList;
}

export interface ExemptionReviewItem {
  readonly id: string;
  readonly principal: string;
  readonly category: ExemptionRecord["category"];
  readonly owner: string;
  readonly justification: string;
  readonly requestedBy: string;
  readonly approvedBy?: string;
  readonly startsAt: string;
  readonly expiresAt: string;
  readonly reviewAt: string;
  /**
   * `in_force` (approved, started), `upcoming` (approved, not started), `awaiting_approval`, or
   * `shared_login_refused`: its principal has been marked as a shared login since it was asked
   * for, and the engine applies no exemption to a shared login (seed 001), nor can it be approved.
   */
  readonly state: "in_force" | "upcoming" | "awaiting_approval" | "shared_login_refused";
  /**
   * The ids of the mandates binding its principal now that no exemption excuses (marked not
   * exemptible), as the engine finds them: this exemption lifts the tenant policy's requirement
   * and exemptible mandates', never theirs. Empty when nothing binding now is beyond it.
   */
  readonly notExemptibleMandates: readonly string[];
  /** Its review date has passed. */
  readonly reviewOverdue: boolean;
  /** It expires within {@link ExemptionReview.dueWithinDays} days: its owner should be told. */
  readonly expiringSoon: boolean;
}

export interface ExemptionReview {
  readonly dueWithinDays: number;
  readonly inForce: number;
  readonly upcoming: number;
  readonly awaitingApproval: number;
  readonly sharedLoginRefused: number;
  /**
   * Of those in force, how many lift less than their principal's whole requirement: a mandate no
   * exemption excuses binds the principal (`notExemptibleMandates`).
   */
  readonly inForceLimitedByMandates: number;
  readonly reviewOverdue: number;
  readonly expiringSoon: number;
  /** Every exemption not yet expired, approved or awaiting approval, soonest expiry first. */
  readonly items: readonly ExemptionReviewItem[];
  readonly truncated: boolean;
}

export interface DecisionSummary {
  readonly total: number;
  readonly byOutcome: Readonly<Record<Outcome, number>>;
  /** Decided while the tenant policy was in `report_only`: only mandates were enforced. */
  readonly reportOnly: number;
  /**
   * Of those, what the tenant policy would have decided once enforced: the sign-ins enforcement
   * will challenge or deny. (Decisions recorded before the audit event kept it are not counted.)
   */
  readonly reportOnlyWouldBe: Readonly<Record<Outcome, number>>;
  /** How often each reason code was given, most frequent first. */
  readonly byReason: Readonly<Record<string, number>>;
  /** Decisions that an exemption let through, and of them those of a break-glass exemption. */
  readonly exemptionUses: number;
  readonly breakGlassUses: number;
  /**
   * Integrations that signed in with a password or without a token grant (seed 000: the most
   * common source of compromise): move them to a token-based grant.
   */
  readonly interactiveIntegrations: PrincipalList;
}

/** How many ids a {@link PrincipalList} shows, and how many exemptions a review lists. */
export const LISTED = 100;
export const LISTED_EXEMPTIONS = 500;

const DAY_MS = 86_400_000;

export function summarisePolicy(policy: TenantPolicy, now: Date): PolicySummary {
  const startsAt = policy.enforcementStartsAt;
  const reportOnly = startsAt !== undefined && now.getTime() < (parseTime(startsAt) ?? -Infinity);
  return {
    version: policy.version,
    posture: policy.posture,
    mode: reportOnly ? "report_only" : "enforce",
    ...(startsAt === undefined ? {} : { enforcementStartsAt: startsAt }),
  };
}

export function summariseMandate(mandate: PlatformMandate): MandateSummary {
  const { id, version, title, exemptible, scope, activeFrom, activeUntil } = mandate;
  return {
    id,
    version,
    ...(title === undefined ? {} : { title }),
    exemptible,
    ...(scope.populations === undefined ? {} : { populations: scope.populations }),
    ...(activeFrom === undefined ? {} : { activeFrom }),
    ...(activeUntil === undefined ? {} : { activeUntil }),
  };
}

/** Collects ids into a {@link PrincipalList}: without repeats, in id order. */
class ListedIds {
  readonly #seen = new Set<string>();
  add(id: string): void {
    this.#seen.add(id);
  }
  list(): PrincipalList {
    const all = [...this.#seen].sort();
    return { count: all.length, principals: all.slice(0, LISTED), truncated: all.length > LISTED };
  }
}

/**
 * Counts the principals of a tenant, read page by page, against what each has enrolled: the
 * enrolments are given last ({@link result}), read once every principal counted is registered.
 */
export function coverPrincipals() {
  const counts = Object.fromEntries(
    POPULATIONS.map((population) => [
      population,
      {
        registered: 0,
        withTotp: 0,
        withWebAuthn: 0,
        withRecoveryCodes: 0,
        withoutPlatformMfa: 0,
      },
    ]),
  ) as Record<Population, { -readonly [K in keyof PopulationCoverage]: number }>;
  const populations = new Map<string, Population>();
  const sharedLogins = new Set<string>();
  return {
    add(principal: PrincipalRecord): void {
      populations.set(principal.id, principal.population);
      if (principal.sharedLogin === true) sharedLogins.add(principal.id);
    },
    /** The population of each principal counted, by id. */
    populations(): ReadonlyMap<string, Population> {
      return populations;
    },
    /** The ids of the principals marked as shared logins. */
    sharedLogins(): ReadonlySet<string> {
      return sharedLogins;
    },
    /** The counts against `enrolled`; call once. */
    result(enrolled: EnrolledPrincipals): PrincipalCoverage {
      const totp = new Set(enrolled.totp);
      const webauthn = new Set(enrolled.webauthn);
      const recoveryCodes = new Set(enrolled.recoveryCodes);
      const uncovered = new ListedIds();
      for (const [id, population] of populations) {
        const count = counts[population];
        count.registered += 1;
        const hasTotp = totp.has(id);
        const hasWebAuthn = webauthn.has(id);
        if (hasTotp) count.withTotp += 1;
        if (hasWebAuthn) count.withWebAuthn += 1;
        if (recoveryCodes.has(id)) count.withRecoveryCodes += 1;
        if (hasTotp || hasWebAuthn) continue;
        count.withoutPlatformMfa += 1;
        if (population === "direct" || population === "api_human") uncovered.add(id);
      }
      return {
        registered: populations.size,
        sharedLogins: sharedLogins.size,
        byPopulation: counts,
        directWithoutPlatformMfa: uncovered.list(),
      };
    },
  };
}

/**
 * The exemptions an owner or approver must look at: every one approved or requested that has not
 * expired, with whether its review is overdue and whether it expires within `dueWithinDays`
 * (seed 000: tell owners 14 days before expiry; review monthly). Those of `sharedLogins` are
 * named as refused: the engine applies none to a shared login. `notExemptibleMandates` names,
 * for a principal, the mandates binding it now that no exemption excuses.
 */
export function reviewExemptions(
  records: readonly ExemptionRecord[],
  now: Date,
  dueWithinDays: number,
  principals: {
    readonly sharedLogins?: ReadonlySet<string>;
    readonly notExemptibleMandates?: (principal: string) => readonly string[];
  } = {},
): ExemptionReview {
  const sharedLogins = principals.sharedLogins ?? new Set<string>();
  const notExemptibleMandates = principals.notExemptibleMandates ?? (() => []);
  const at = now.getTime();
  const soon = at + dueWithinDays * DAY_MS;
  const time = (value: string) => parseTime(value) ?? Number.NaN;
  const items = records
    .filter((record) => record.status === "approved" || record.status === "requested")
    // An exemption is over at its expiry (the engine applies it strictly before).
    .filter((record) => time(record.expiresAt) > at)
    .map((record): ExemptionReviewItem => {
      const state = sharedLogins.has(record.principal)
        ? "shared_login_refused"
        : record.status === "requested"
          ? "awaiting_approval"
          : time(record.startsAt) <= at
            ? "in_force"
            : "upcoming";
      return {
        id: record.id,
        principal: record.principal,
        category: record.category,
        owner: record.owner,
        justification: record.justification,
        requestedBy: record.requestedBy,
        ...(record.approvedBy === undefined ? {} : { approvedBy: record.approvedBy }),
        startsAt: record.startsAt,
        expiresAt: record.expiresAt,
        reviewAt: record.reviewAt,
        state,
        notExemptibleMandates: notExemptibleMandates(record.principal),
        reviewOverdue: time(record.reviewAt) <= at,
        expiringSoon: time(record.expiresAt) <= soon,
      };
    })
    .sort((a, b) => time(a.expiresAt) - time(b.expiresAt) || a.id.localeCompare(b.id));
  const count = (test: (item: ExemptionReviewItem) => boolean) => items.filter(test).length;
  return {
    dueWithinDays,
    inForce: count((item) => item.state === "in_force"),
    upcoming: count((item) => item.state === "upcoming"),
    awaitingApproval: count((item) => item.state === "awaiting_approval"),
    sharedLoginRefused: count((item) => item.state === "shared_login_refused"),
    inForceLimitedByMandates: count(
      (item) => item.state === "in_force" && item.notExemptibleMandates.length > 0,
    ),
    reviewOverdue: count((item) => item.reviewOverdue),
    expiringSoon: count((item) => item.expiringSoon),
    items: items.slice(0, LISTED_EXEMPTIONS),
    truncated: items.length > LISTED_EXEMPTIONS,
  };
}

/**
 * Counts the `decision.recorded` events of a period, read page by page: each keeps the outcome,
 * the mode, the reason codes and the exemption used, so no receipt needs reading.
 */
export function tallyDecisions() {
  const outcomes = () =>
    Object.fromEntries(OUTCOMES.map((outcome) => [outcome, 0])) as Record<Outcome, number>;
  const count = (counts: Record<Outcome, number>, outcome: unknown) => {
    if (typeof outcome === "string" && Object.hasOwn(counts, outcome)) {
      counts[outcome as Outcome] += 1;
    }
  };
  const byOutcome = outcomes();
  const reportOnlyWouldBe = outcomes();
  const byReason = new Map<string, number>();
  const integrations = new ListedIds();
  let total = 0;
  let reportOnly = 0;
  let exemptionUses = 0;
  let breakGlassUses = 0;
  return {
    /** A `decision.recorded` event. */
    addDecision(event: AuditEvent): void {
      const { outcome, mode, reportOnlyOutcome, reasons, exemption, principal } = event.payload;
      total += 1;
      count(byOutcome, outcome);
      if (mode === "report_only") {
        reportOnly += 1;
        count(reportOnlyWouldBe, reportOnlyOutcome);
      }
      if (typeof exemption === "string") exemptionUses += 1;
      for (const code of Array.isArray(reasons) ? reasons : []) {
        if (typeof code !== "string") continue;
        byReason.set(code, (byReason.get(code) ?? 0) + 1);
        if (code === "population.integration_interactive" && typeof principal === "string") {
          integrations.add(principal);
        }
      }
    },
    /** An `exemption.break_glass_used` event. */
    addBreakGlassUse(): void {
      breakGlassUses += 1;
    },
    result(): DecisionSummary {
      const reasons = [...byReason].sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
      return {
        total,
        byOutcome,
        reportOnly,
        reportOnlyWouldBe,
        byReason: Object.fromEntries(reasons),
        exemptionUses,
        breakGlassUses,
        interactiveIntegrations: integrations.list(),
      };
    },
  };
}
