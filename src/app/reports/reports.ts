import type { TenantPolicy } from "../../core/policy.js";
import { prepareRules } from "../../core/prepared-rules.js";
import { parseTime } from "../../core/time.js";
import { POPULATIONS, type Population } from "../../core/vocabulary.js";
import { authorize } from "../access/permissions.js";
import type { Application } from "../application.js";
import { chainOf, DECISION_RECORDED } from "../audit/audit-chain.js";
import { readChain, utcTime } from "../audit/audit-log.js";
import { readStore, type Context } from "../context.js";
import { AppError, InvalidInput, type FieldProblem } from "../errors.js";
import { mandatesBinding, mandatesInForce } from "../mandates/active-mandates.js";
import type { Page } from "../ports.js";
import type { AuditEvent, ExemptionRecord, MandateVersionRecord } from "../records.js";
import { requireTenant } from "../tenants/tenants.js";
import {
  coverPrincipals,
  reviewExemptions,
  summariseMandate,
  summarisePolicy,
  tallyDecisions,
  type ComplianceReport,
} from "./compliance-report.js";

const DAY_MS = 86_400_000;
/** The period a report counts when none is given: the 30 days before it is made. */
const DEFAULT_PERIOD_DAYS = 30;
/** A year and a day: reports are monthly or yearly, and a longer one is a batch job's export. */
const MAX_PERIOD_DAYS = 366;
/** Seed 000: owners are told 14 days before their exemption expires. */
const DEFAULT_DUE_WITHIN_DAYS = 14;
const MAX_DUE_WITHIN_DAYS = 90;
/** The earliest time the service writes (year 0000): a default period starts no earlier. */
const EARLIEST = Date.parse("0000-01-01T00:00:00.000Z");
/** Rows per read: each page is its own read, so a large tenant never holds the store for long. */
const PAGE = 500;

/** Reports for a tenant's administrators and auditors. */
export function reportUseCases(context: Context): Application["reports"] {
  return {
    async compliance(caller, tenant, options) {
      authorize(caller, "report.read", tenant);
      const now = context.clock.now();
      const period = reportPeriod(options.from, options.to, now);
      const dueWithinDays = options.dueWithinDays ?? DEFAULT_DUE_WITHIN_DAYS;
      if (
        !Number.isInteger(dueWithinDays) ||
        dueWithinDays < 1 ||
        dueWithinDays > MAX_DUE_WITHIN_DAYS
      ) {
        const detail = `must be a whole number of days from 1 to ${MAX_DUE_WITHIN_DAYS}`;
        throw new InvalidInput(
          (name) => `${name("dueWithinDays")} ${detail}.`,
          [{ field: "dueWithinDays", detail: () => detail }],
        );
      }
      const read = <T>(work: Parameters<typeof readStore<T>>[1]) => readStore(context, work);

      const rules = await read(async (r) => {
        await requireTenant(r, tenant);
        const policy = await r.policies.current(tenant);
        if (policy === undefined)
          throw new AppError("store.unavailable", "The tenant has no policy.");
        return {
          policy: policy.policy,
          mandates: await r.mandates.listCurrent(),
          head: await r.audit.head(chainOf(tenant)),
        };
      });

      // Only those not expired now: the review lists no other, and a tenant's expired exemptions
      // only grow. Read before the principals, so that each one's principal (registered before
      // its exemption is requested) is among those read next.
      const exemptions: ExemptionRecord[] = [];
      const unexpiredAt = now.toISOString();
      for (const status of ["approved", "requested"] as const) {
        const pages = pagesOf((after) =>
          read((r) =>
            r.exemptions.list(tenant, { status, unexpiredAt }, { ...after, limit: PAGE }),
          ),
        );
        for await (const exemption of pages) exemptions.push(exemption);
      }

      // No snapshot spans the pages: a read transaction would hold SQLite's one connection, and
      // with it every writer, for as long as a large tenant takes to read. So the enrolments are
      // read after the last page, in one statement (one snapshot of the three tables): every
      // principal counted was registered before it, and is counted with what it holds then. An
      // enrolment made while the pages are read counts; read first, it would have counted as none.
      const coverage = coverPrincipals();
      const principals = pagesOf((after) =>
        read((r) => r.principals.list(tenant, { ...after, limit: PAGE })),
      );
      for await (const principal of principals) coverage.add(principal);
      const enrolled = await read((r) => r.enrolments.enrolledPrincipals(tenant));

      const decisions = tallyDecisions();
      // Up to the head read with the policy: what is appended meanwhile is left to the next report.
      const through = rules.head?.seq ?? 0;
      const count = async (type: string, add: (event: AuditEvent) => void) => {
        for (let afterSeq = 0; afterSeq < through;) {
          const events = await read((r) =>
            readChain(r, chainOf(tenant), { afterSeq, limit: PAGE, filter: { type, ...period } }),
          );
          for (const event of events) if (event.seq <= through) add(event);
          const last = events.at(-1);
          if (events.length < PAGE || last === undefined) return;
          afterSeq = last.seq;
        }
      };
      await count(DECISION_RECORDED, (event) => {
        decisions.addDecision(event);
      });
      await count("exemption.break_glass_used", () => {
        decisions.addBreakGlassUse();
      });

      const report: ComplianceReport = {
        tenant,
        generatedAt: now.toISOString(),
        period,
        ...(rules.head === undefined
          ? {}
          : { chainHead: { chain: chainOf(tenant), ...rules.head } }),
        policy: summarisePolicy(rules.policy, now),
        mandates: mandatesBinding(rules.mandates, tenant, now.getTime()).map(summariseMandate),
        principals: coverage.result(enrolled),
        exemptions: reviewExemptions(exemptions, now, dueWithinDays, {
          sharedLogins: coverage.sharedLogins(),
          notExemptibleMandates: notExemptibleMandatesOf(
            tenant,
            rules,
            coverage.populations(),
            now.getTime(),
          ),
        }),
        decisions: decisions.result(),
      };
      return report;
    },
  };
}

/**
 * For a principal, the mandates binding it at `now` that no exemption excuses, as the engine
 * reads the rules (`PreparedRules.notExemptibleMandates`), by the population it is registered
 * in. Exemptions need a registered principal and principals are never removed, so each one's
 * is known; were one not, it is held to those of every population, the safe side to err on.
 */
function notExemptibleMandatesOf(
  tenant: string,
  rules: { readonly policy: TenantPolicy; readonly mandates: readonly MandateVersionRecord[] },
  populations: ReadonlyMap<string, Population>,
  now: number,
): (principal: string) => readonly string[] {
  const prepared = prepareRules(tenant, rules.policy, mandatesInForce(rules.mandates));
  if (typeof prepared === "string") {
    // Only a store changed outside the service holds rules that do not check; every decision
    // under them is a deny (`policy.invalid`).
    throw new AppError("store.unavailable", `The tenant's stored rules do not check: ${prepared}`);
  }
  const byPopulation = new Map(
    POPULATIONS.map((population) => [population, prepared.notExemptibleMandates(population, now)]),
  );
  const everyPopulation = [...new Set([...byPopulation.values()].flat())];
  return (principal) => {
    const population = populations.get(principal);
    return population === undefined ? everyPopulation : (byPopulation.get(population) ?? []);
  };
}

/** Every item of a cursor-paged list, each page read as `read` reads it (after the last's `next`). */
async function* pagesOf<T>(
  read: (after: { after?: string }) => Promise<Page<T>>,
): AsyncGenerator<T> {
  for (let after: { after?: string } = {}; ;) {
    const page = await read(after);
    yield* page.items;
    if (page.next === undefined || page.items.length === 0) return;
    after = { after: page.next };
  }
}

/**
 * The period whose decisions a report counts: `from` (included) to `to` (excluded), in canonical
 * UTC; by default the 30 days up to `now`, and never longer than a year and a day.
 */
function reportPeriod(
  from: string | undefined,
  to: string | undefined,
  now: Date,
): { from: string; to: string } {
  const end = utcTime("to", to).to ?? now.toISOString();
  const endMs = parseTime(end) ?? now.getTime();
  const start =
    utcTime("from", from).from ??
    new Date(Math.max(endMs - DEFAULT_PERIOD_DAYS * DAY_MS, EARLIEST)).toISOString();
  const startMs = parseTime(start) ?? endMs;
  // The fields at fault are those given: a default is never the one to change.
  const given = (fromDetail: FieldProblem["detail"], toDetail: FieldProblem["detail"]) => {
    const both = from === undefined && to === undefined;
    return [
      ...(from !== undefined || both ? [{ field: "from", detail: fromDetail }] : []),
      ...(to !== undefined || both ? [{ field: "to", detail: toDetail }] : []),
    ];
  };
  if (startMs >= endMs) {
    throw new InvalidInput(
      (name) => `${name("from")} must be before ${name("to")}.`,
      given(
        (name) => `must be before ${name("to")}`,
        (name) => `must be after ${name("from")}`,
      ),
    );
  }
  if (endMs - startMs > MAX_PERIOD_DAYS * DAY_MS) {
    const most = `at most ${MAX_PERIOD_DAYS} days`;
    throw new InvalidInput(
      (name) => `A report counts ${most} of decisions: narrow ${name("from")} and ${name("to")}.`,
      given(
        (name) => `must be ${most} before ${name("to")}`,
        (name) => `must be ${most} after ${name("from")}`,
      ),
    );
  }
  return { from: start, to: end };
}
