// Threats: pending TOTP enrolments that nobody touches again, and pending enrolments without
// number. An enrolment past its time (`totp.enrolmentTtlSeconds`) can never be confirmed, but was
// removed only when its principal tried to confirm it or began another: abandoned for good, its
// sealed secret stayed in the store for ever (counted as needing its key at every start, and
// re-sealed by every rotation). It is now purged before verifications and enrolments, once a
// minute, once it is past its time on every instance (the TTL and the instances' clock drift
// after its begin), a bounded number per transaction, each audited as an expiry. And the
// platform's backend could begin any number within one enrolment's time: a principal now has at
// most MAX_PENDING_ENROLMENTS waiting, beginning another removes the oldest (audited).
import { afterEach, beforeEach, expect, it } from "vitest";
import { oathtoolCode } from "../../verifiers/totp/test-support/oathtool.js";
import type { Caller } from "../application.js";
import { chainOf } from "../audit/audit-chain.js";
import { INSTANCE_CLOCK_DRIFT_SECONDS } from "../ports.js";
import type { AuthenticatorRecord } from "../records.js";
import { describeOnEachStore } from "../test-support/each-store.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import {
  enrolTotp,
  outcomeOf,
  rightCode,
  type EnrolledTotp,
} from "../test-support/totp-principals.js";
import {
  ENROLMENT_PURGE_ACTOR,
  ENROLMENT_PURGE_BATCH,
  MAX_PENDING_ENROLMENTS,
} from "./pending-enrolments.js";

const TTL = 600;
/** When an enrolment begun at 0 is past its time on every instance. */
const LAPSED = TTL + INSTANCE_CLOCK_DRIFT_SECONDS;

describeOnEachStore("pending TOTP enrolments", (open) => {
  let h: Harness;
  let service: Caller;
  let alice: EnrolledTotp;

  beforeEach(async () => {
    h = await openHarness({ url: await open() });
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
    await h.app.tenants.create(h.admin, { id: "globex", name: "Globex" });
    service = await h.caller(["platform_service"], "all");
    alice = await enrolTotp(h, service, "acme", "alice");
    for (const [tenant, id] of [
      ["acme", "bob"],
      ["globex", "carol"],
    ] as const) {
      await h.app.principals.upsert(h.admin, tenant, id, { population: "direct" });
    }
  });
  afterEach(() => h.close());

  const begin = async (tenant: string, principal: string) => {
    const begun = await h.app.authenticators.beginTotp(service, tenant, principal, {});
    return { id: begun.authenticator.id, secret: begun.secret };
  };
  const confirm = (tenant: string, principal: string, pending: { id: string; secret: string }) =>
    outcomeOf(
      h.app.authenticators.confirmTotp(service, tenant, principal, pending.id, {
        code: oathtoolCode(pending.secret, h.clock.now()),
      }),
    );
  /** Alice verifies: what runs the purge when it is due. */
  const verify = async () => {
    h.clock.advance(30);
    await h.app.authenticators.verifyTotp(service, "acme", "alice", alice.id, {
      code: rightCode(h, alice),
    });
  };
  const stored = async (tenant: string) =>
    (await h.store.read((r) => r.authenticators.listTenant(tenant))).map((a) => [
      a.principal,
      a.status,
    ]);
  const eventsOf = (tenant: string, type: string) =>
    h.store.read((r) => r.audit.read(chainOf(tenant), { limit: 5000, filter: { type } }));

  it("purges an enrolment nobody touches again once it is past its time on every instance, audited", async () => {
    const bobs = await begin("acme", "bob");
    const begunAt = h.clock.now();
    const carols = await begin("globex", "carol");
    // Past its time here, not yet on an instance whose clock is behind: kept.
    h.clock.advance(LAPSED - 31);
    await verify();
    expect(await stored("acme")).toEqual([
      ["alice", "active"],
      ["bob", "pending"],
    ]);
    h.clock.advance(60);
    await verify();
    // Every tenant's go; the confirmed one stays.
    expect(await stored("acme")).toEqual([["alice", "active"]]);
    expect(await stored("globex")).toEqual([]);
    const [event] = await eventsOf("acme", "authenticator.enrolment_expired");
    expect(event).toMatchObject({
      actor: ENROLMENT_PURGE_ACTOR,
      payload: {
        principal: "bob",
        authenticator: bobs.id,
        kind: "totp",
        createdAt: begunAt.toISOString(),
        expiresAt: new Date(begunAt.getTime() + TTL * 1000).toISOString(),
        by: "purge",
      },
    });
    expect(JSON.stringify(event)).not.toContain(bobs.secret);
    expect(await eventsOf("globex", "authenticator.enrolment_expired")).toMatchObject([
      { payload: { principal: "carol", authenticator: carols.id, by: "purge" } },
    ]);
    expect(await confirm("acme", "bob", bobs)).toEqual({ code: "not_found" });
  });

  it("purges a bounded number per minute, the oldest first", async () => {
    const runs = 5;
    const many = ENROLMENT_PURGE_BATCH * runs + 3;
    const begunAt = h.clock.now();
    await h.store.transaction(async (r) => {
      for (let n = 0; n < many; n += 1) {
        const record: AuthenticatorRecord = {
          tenant: "acme",
          principal: `p${String(n).padStart(4, "0")}`,
          id: `auth_old_${String(n).padStart(4, "0")}`,
          kind: "totp",
          name: "phone",
          status: "pending",
          sealedSecret: "v1.k0.aaaa.bbbb",
          totp: { algorithm: "SHA1", digits: 6, period: 30 },
          failedAttempts: 0,
          createdAt: new Date(begunAt.getTime() + n).toISOString(),
        };
        await r.authenticators.insert(record);
      }
    });
    h.clock.advance(LAPSED + 1);
    await verify();
    const left = await h.store.read((r) => r.authenticators.listTenant("acme"));
    expect(left.filter((a) => a.status === "pending").map((a) => a.id)).toEqual([
      `auth_old_${String(many - 3)}`,
      `auth_old_${String(many - 2)}`,
      `auth_old_${String(many - 1)}`,
    ]);
    expect(await eventsOf("acme", "authenticator.enrolment_expired")).toHaveLength(many - 3);
    // Not due again within the minute; the rest go at the next.
    await verify();
    expect(await stored("acme")).toHaveLength(4);
    h.clock.advance(60);
    await verify();
    expect(await stored("acme")).toEqual([["alice", "active"]]);
  });

  it(`keeps at most ${String(MAX_PENDING_ENROLMENTS)} waiting per principal: another begun removes the oldest, audited`, async () => {
    const waiting = [];
    for (let n = 0; n < MAX_PENDING_ENROLMENTS; n += 1) {
      waiting.push(await begin("acme", "bob"));
      h.clock.advance(10);
    }
    const [oldest, second] = waiting;
    const sixth = await begin("acme", "bob");
    const listed = async () =>
      (await h.app.authenticators.list(service, "acme", "bob")).map((a) => a.id);
    expect(await listed()).toEqual([...waiting.slice(1), sixth].map((p) => p.id));
    expect(await eventsOf("acme", "authenticator.enrolment_replaced")).toMatchObject([
      {
        actor: service.id,
        payload: {
          principal: "bob",
          authenticator: oldest?.id,
          kind: "totp",
          replacedBy: sixth.id,
        },
      },
    ]);
    // The oldest is gone for good; the others are confirmed as ever.
    expect(await confirm("acme", "bob", oldest ?? sixth)).toEqual({ code: "not_found" });
    expect(await confirm("acme", "bob", second ?? sixth)).toEqual({ code: "accepted" });
    // Another principal's are its own.
    await verify();
    await begin("acme", "alice");
    expect(await listed()).toHaveLength(MAX_PENDING_ENROLMENTS);
  });
});
