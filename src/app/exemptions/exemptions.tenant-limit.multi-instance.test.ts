// Threat: on PostgreSQL (READ COMMITTED) approvals sent together, to one instance or several,
// each count the tenant's exemptions before any of them commits: all pass the per-tenant cap,
// and all pass the renewal cap for one principal. Approvals of one tenant queue on its row
// (`tenants.lock`) inside their transaction, so each counts what the previous ones committed.
import { DEFAULT_SETTINGS } from "../context.js";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import type { Application, Caller } from "../application.js";
import { AppError } from "../errors.js";
import type { Harness } from "../test-support/harness.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const DAY_MS = 86_400_000;
const ROUNDS = 3;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "approved";
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
}

describeOnPostgres(
  {
    title: "Exemption approvals on two instances sharing PostgreSQL",
    skippedTitle: "Exemption approvals on two instances",
    tests: "multi-instance exemption approval tests",
  },
  () => {
    let two: TwoInstances | undefined;
    let first: Harness;
    let second: Application;
    let requester: Caller;
    let approver: Caller;
    const tenants = Array.from({ length: ROUNDS }, (_, round) => [
      `limit-${round}`,
      `run-${round}`,
    ]).flat();

    beforeAll(async () => {
      two = await openTwoInstances({
        settings: {
          exemptions: { ...DEFAULT_SETTINGS.exemptions, maxActivePerTenant: 1 },
        },
      });
      ({ first, second } = two);
      for (const id of tenants) await first.app.tenants.create(first.admin, { id, name: id });
      requester = await first.caller(["tenant_admin"], tenants);
      approver = await first.caller(["exemption_approver"], tenants);
    });
    afterAll(async () => {
      await two?.close();
    });

    const at = (days: number) =>
      new Date(first.clock.now().getTime() + days * DAY_MS).toISOString();

    async function requestFor(tenant: string, principal: string, from: number, to: number) {
      await first.app.principals.upsert(requester, tenant, principal, { population: "direct" });
      const requested = await first.app.exemptions.request(requester, tenant, {
        principal,
        category: "temporary_access",
        justification: "Phone lost",
        owner: "it-helpdesk",
        startsAt: at(from),
        expiresAt: at(to),
        reviewAt: at(from + 1),
      });
      return requested.id;
    }

    // Every connection of both pools open, so that the approvals start together.
    async function warmPools(): Promise<void> {
      const hold = () => new Promise((resolve) => setTimeout(resolve, 50));
      await Promise.all(
        [first.store, two!.secondStore].flatMap((store) =>
          Array.from({ length: 8 }, () =>
            store.transaction(async (r) => {
              await r.tenants.get("acme");
              await hold();
            }),
          ),
        ),
      );
    }

    /** Approves every id at once, alternating between the two instances. */
    async function approveTogether(tenant: string, ids: readonly string[]): Promise<string[]> {
      await warmPools();
      const outcomes = await Promise.all(
        ids.map((id, index) =>
          codeOf(
            (index % 2 === 0 ? first.app.exemptions : second.exemptions).approve(
              approver,
              tenant,
              id,
            ),
          ),
        ),
      );
      return outcomes.sort();
    }

    it("approves exactly as many as the tenant cap allows when approvals race", async () => {
      for (let round = 0; round < ROUNDS; round += 1) {
        const tenant = `limit-${round}`;
        const ids = [];
        for (let p = 0; p < 6; p += 1) ids.push(await requestFor(tenant, `p${p}`, 0, 5));
        expect(await approveTogether(tenant, ids)).toEqual([
          "approved",
          ...Array.from({ length: 5 }, () => "exemption.tenant_limit"),
        ]);
      }
    });

    it("approves at most the renewal cap's run for one principal when approvals race", async () => {
      for (let round = 0; round < ROUNDS; round += 1) {
        const tenant = `run-${round}`;
        const ids = [];
        for (const from of [0, 5, 10, 15])
          ids.push(await requestFor(tenant, "alice", from, from + 5));
        expect(await approveTogether(tenant, ids)).toEqual([
          "approved",
          "approved",
          "approved",
          "exemption.renewal_limit",
        ]);
      }
    });
  },
);
