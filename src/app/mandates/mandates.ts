import { checkMandate } from "../../core/input.js";
import type { PlatformMandate } from "../../core/policy.js";
import { parseTime, toCanonicalTime } from "../../core/time.js";
import { authorize } from "../access/permissions.js";
import type { Application, Caller, MandateInput } from "../application.js";
import { recordAudit, requireRationale, transact, type Context } from "../context.js";
import { AppError } from "../errors.js";
import type { MandateVersionRecord } from "../records.js";
import { isTenantId } from "../tenants/tenants.js";

const MANDATE_ID = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function validMandate(
  id: string,
  version: number,
  input: MandateInput,
  now: number,
): PlatformMandate {
  const mandate = { ...input, id, version } as PlatformMandate;
  const problem = checkMandate(mandate, 0);
  if (problem !== undefined) {
    throw new AppError(
      "mandate.invalid",
      `The mandate is not valid: ${problem.replace("mandates[0]", "mandate")}.`,
    );
  }
  // A scope that lists nobody binds nobody: almost certainly a mistake, so refuse it. Guests
  // are decided before any rule is read (`not_applicable`), so a scope of guests alone is one.
  const { tenants, populations } = mandate.scope;
  if (
    (tenants !== "all" && tenants.length === 0) ||
    populations?.every((population) => population === "guest") === true
  ) {
    throw new AppError(
      "mandate.invalid",
      "A mandate's scope must name at least one tenant and a population other than guest.",
    );
  }
  // Nor does a tenant id no tenant can have (tenant ids are lower case): `ACME` binds no one.
  const impossible = tenants === "all" ? undefined : tenants.find((t) => !isTenantId(t));
  if (impossible !== undefined) {
    throw new AppError(
      "mandate.invalid",
      `The mandate is not valid: mandate.scope.tenants names ${JSON.stringify(impossible)}, which no tenant id can be (1–63 lowercase letters, digits or hyphens).`,
    );
  }
  const utc = withUtcWindow(mandate);
  // So is a window that ends before it starts: an emergency uplift typed with its two times
  // swapped would be stored as active and bind no one, without a word to its author.
  const { activeFrom, activeUntil } = utc;
  // And a window that has ended already (last year's dates typed in a hurry) binds no one again.
  if (activeUntil !== undefined && (parseTime(activeUntil) ?? 0) <= now) {
    throw new AppError(
      "mandate.invalid",
      "The mandate is not valid: mandate.activeUntil has passed, so it would bind no one.",
    );
  }
  if (
    activeFrom !== undefined &&
    activeUntil !== undefined &&
    (parseTime(activeUntil) ?? 0) <= (parseTime(activeFrom) ?? 0)
  ) {
    throw new AppError(
      "mandate.invalid",
      "The mandate is not valid: mandate.activeUntil must be after mandate.activeFrom.",
    );
  }
  return utc;
}

/**
 * The mandate with its active window in UTC (DESIGN: times in ISO 8601 UTC everywhere in the API
 * and the audit log), so that the version stored, answered and audited holds the same text
 * whatever offset the administrator wrote.
 */
function withUtcWindow(mandate: PlatformMandate): PlatformMandate {
  const window: { activeFrom?: string; activeUntil?: string } = {};
  for (const key of ["activeFrom", "activeUntil"] as const) {
    const value = mandate[key];
    if (value === undefined) continue;
    const utc = toCanonicalTime(value);
    if (utc === undefined) {
      throw new AppError(
        "mandate.invalid",
        `The mandate is not valid: mandate.${key} must fall within years 0000–9999 in UTC.`,
      );
    }
    window[key] = utc;
  }
  return { ...mandate, ...window };
}

/**
 * Writes the next version of a mandate with its audit event, then tells every instance, so
 * that an emergency mandate binds everywhere at once rather than when caches age out.
 */
async function writeVersion(
  context: Context,
  caller: Caller,
  id: string,
  build: (
    current: MandateVersionRecord | undefined,
  ) => Omit<MandateVersionRecord, "actor" | "createdAt">,
  type: string,
): Promise<MandateVersionRecord> {
  const record = await transact(context, async (r) => {
    const next: MandateVersionRecord = {
      ...build(await r.mandates.current(id)),
      actor: caller.id,
      createdAt: context.clock.now().toISOString(),
    };
    // The insert waits for every code exchange holding the mandates, and holds off new ones
    // until the commit (flow-api.ts says why no cycle of waits can form).
    if (!(await r.mandates.insert(next))) {
      throw new AppError("mandate.version_conflict");
    }
    await recordAudit(context, r, {
      tenant: null,
      type,
      actor: caller.id,
      payload: {
        id,
        version: next.version,
        status: next.status,
        rationale: next.rationale,
        mandate: next.mandate,
      },
    });
    return next;
  });
  await context.store.notify({ kind: "mandate" });
  return record;
}

/**
 * Writes the version after the current one of a mandate that exists and is not retired, when
 * that current version is the one the caller read (`ifMatch`): two platform administrators
 * acting on one mandate must not undo each other unseen (an emergency uplift replaced by an
 * edit of the version before it).
 */
function nextVersion(
  context: Context,
  caller: Caller,
  id: string,
  { rationale, ifMatch }: { rationale: string; ifMatch: number | undefined },
  type: "mandate.updated" | "mandate.retired",
  change: (
    version: number,
    current: MandateVersionRecord,
  ) => Pick<MandateVersionRecord, "mandate" | "status">,
): Promise<MandateVersionRecord> {
  authorize(caller, "mandate.write");
  requireRationale(rationale, "mandate");
  if (ifMatch === undefined) throw new AppError("mandate.precondition_required");
  return writeVersion(
    context,
    caller,
    id,
    (current) => {
      if (current === undefined) throw new AppError("not_found");
      if (current.status === "retired") throw new AppError("mandate.retired");
      if (current.version !== ifMatch) {
        throw new AppError("mandate.version_conflict", undefined, {
          currentVersion: current.version,
        });
      }
      const version = current.version + 1;
      return { id, version, ...change(version, current), rationale };
    },
    type,
  );
}

/** Platform mandates: platform administrators create, update, retire and read them. */
export function mandateUseCases(context: Context): Application["mandates"] {
  return {
    async create(caller, input) {
      authorize(caller, "mandate.write");
      requireRationale(input.rationale, "mandate");
      if (!MANDATE_ID.test(input.id)) {
        throw new AppError(
          "request.invalid",
          "A mandate id is 1–63 lowercase letters, digits or hyphens.",
        );
      }
      const mandate = validMandate(input.id, 1, input.mandate, context.clock.now().getTime());
      return writeVersion(
        context,
        caller,
        input.id,
        (current) => {
          if (current !== undefined) throw new AppError("mandate.exists");
          return {
            id: input.id,
            version: 1,
            mandate,
            status: "active",
            rationale: input.rationale,
          };
        },
        "mandate.created",
      );
    },
    async update(caller, id, input) {
      return nextVersion(context, caller, id, input, "mandate.updated", (version) => ({
        mandate: validMandate(id, version, input.mandate, context.clock.now().getTime()),
        status: "active",
      }));
    },
    async retire(caller, id, input) {
      return nextVersion(context, caller, id, input, "mandate.retired", (version, current) => ({
        mandate: { ...current.mandate, version },
        status: "retired",
      }));
    },
    async get(caller, id) {
      authorize(caller, "mandate.read");
      const record = await transact(context, (r) => r.mandates.current(id));
      if (record === undefined) throw new AppError("not_found");
      return record;
    },
    async list(caller) {
      authorize(caller, "mandate.read");
      return transact(context, (r) => r.mandates.listCurrent());
    },
  };
}
