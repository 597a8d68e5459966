// Threat: someone with write access to the database hides a tenant's history from `audit verify`
// without touching a single event: they delete the tenant's row and its chain's head row, the
// two places verification used to learn that the chain exists, and every event stays where it
// was. Verification must still find each chain that holds events, and report one whose head is
// gone as broken, on both stores. Or they erase the tenant whole, events and head too: the
// platform chain, which records every tenant's creation, must tell. Or they erase the platform
// chain whole: once anything exists the platform chain does, and a checkpoint of a chain erased
// whole reports the chain missing rather than being refused.
import { afterEach, beforeEach, expect, it, describe } from "vitest";
import type { Harness } from "../test-support/harness.js";
import { describeOnPostgres } from "../test-support/postgres-instances.js";
import {
  openPostgresWorld,
  openSqliteWorld,
  type TamperedWorld,
} from "../test-support/tampered-world.js";

const tamperingTests = (open: () => Promise<TamperedWorld>) => () => {
  let world: TamperedWorld | undefined;
  let h: Harness;

  beforeEach(async () => {
    world = await open();
    ({ h } = world);
    for (const id of ["acme", "globex"]) {
      await h.app.tenants.create(h.admin, { id, name: id });
      await h.app.policies.replace(h.admin, id, {
        policy: { posture: "platform_mfa" },
        rationale: "raise the bar",
        ifMatch: 1,
      });
    }
  });
  afterEach(async () => {
    await world?.close();
  });

  const tamper = (statements: readonly string[]) => {
    if (world === undefined) throw new Error("not set up");
    return world.tamper(statements);
  };
  const verifyAll = () => h.app.audit.verify(h.admin, {});

  it("verifies the untouched chains: the platform's and each tenant's", async () => {
    expect(await verifyAll()).toMatchObject({ ok: true, chains: 3 });
  });

  it("finds a tenant's chain whose tenant row and head row were deleted, its events left", async () => {
    await tamper([
      "DELETE FROM tenants WHERE id = 'acme'",
      "DELETE FROM audit_heads WHERE chain = 'tenant:acme'",
    ]);
    expect(await verifyAll()).toMatchObject({
      ok: false,
      chains: 3,
      broken: { chain: "tenant:acme", seq: 0, problem: "missing" },
    });
  });

  // The platform chain records every tenant's creation: nothing else is left to tell of a tenant
  // erased whole.
  it("finds a tenant erased whole: its events, head, policies and tenant row deleted", async () => {
    await tamper([
      "DELETE FROM audit_events WHERE chain = 'tenant:acme'",
      "DELETE FROM audit_heads WHERE chain = 'tenant:acme'",
      "DELETE FROM policy_versions WHERE tenant = 'acme'",
      "DELETE FROM tenants WHERE id = 'acme'",
    ]);
    expect(await verifyAll()).toMatchObject({
      ok: false,
      broken: { chain: "tenant:acme", seq: 0, problem: "missing" },
    });
  });

  it("finds a tenant's row deleted, its chain left whole", async () => {
    await tamper(["DELETE FROM tenants WHERE id = 'globex'"]);
    expect(await verifyAll()).toMatchObject({
      ok: false,
      broken: { chain: "tenant:globex", seq: 0, problem: "tenant_missing" },
    });
  });

  it("records each tenant's creation in the platform chain", async () => {
    const platform = await h.store.read((r) =>
      r.audit.read("platform", { afterSeq: 0, limit: 100, filter: { type: "tenant.created" } }),
    );
    expect(platform.map((e) => e.payload)).toEqual([
      { tenant: "acme", name: "acme" },
      { tenant: "globex", name: "globex" },
    ]);
  });

  // Every tenant's creation, every API key, mandate and signing key is recorded there: once
  // anything exists, so does the platform chain, and its absence is the finding.
  it("finds the platform chain erased whole, events and head, while the tenants it created remain", async () => {
    await tamper([
      "DELETE FROM audit_events WHERE chain = 'platform'",
      "DELETE FROM audit_heads WHERE chain = 'platform'",
    ]);
    expect(await verifyAll()).toMatchObject({
      ok: false,
      chains: 3,
      broken: { chain: "platform", seq: 0, problem: "missing" },
    });
  });

  it("finds the platform chain erased whole when nothing but platform records are left", async () => {
    await tamper([
      "DELETE FROM audit_events",
      "DELETE FROM audit_heads",
      "DELETE FROM policy_versions",
      "DELETE FROM tenants",
    ]);
    expect(await verifyAll()).toMatchObject({
      ok: false,
      chains: 1,
      broken: { chain: "platform", seq: 0, problem: "missing" },
    });
  });

  // A genuine checkpoint says its chain existed: the chain gone is what verification reports,
  // not a checkpoint "of another chain".
  it("finds the platform chain erased whole when verified against its checkpoint", async () => {
    const checkpoint = await h.app.audit.checkpoint(h.admin, {});
    await tamper([
      "DELETE FROM audit_events WHERE chain = 'platform'",
      "DELETE FROM audit_heads WHERE chain = 'platform'",
    ]);
    for (const checkpointKey of [undefined, checkpoint.key]) {
      expect(
        await h.app.audit.verify(h.admin, {
          checkpoint: checkpoint.checkpoint,
          ...(checkpointKey === undefined ? {} : { checkpointKey }),
        }),
      ).toMatchObject({ ok: false, broken: { chain: "platform", seq: 0, problem: "missing" } });
    }
  });

  it("finds a tenant erased whole when verified against its checkpoint", async () => {
    const checkpoint = await h.app.audit.checkpoint(h.admin, { tenant: "acme" });
    await tamper([
      "DELETE FROM audit_events WHERE chain = 'tenant:acme'",
      "DELETE FROM audit_heads WHERE chain = 'tenant:acme'",
      "DELETE FROM policy_versions WHERE tenant = 'acme'",
      "DELETE FROM tenants WHERE id = 'acme'",
    ]);
    expect(
      await h.app.audit.verify(h.admin, {
        checkpoint: checkpoint.checkpoint,
        checkpointKey: checkpoint.key,
      }),
    ).toMatchObject({ ok: false, broken: { chain: "tenant:acme", seq: 0, problem: "missing" } });
  });

  it("finds the platform chain's head row deleted, its events left", async () => {
    await tamper(["DELETE FROM audit_heads WHERE chain = 'platform'"]);
    expect(await verifyAll()).toMatchObject({
      ok: false,
      chains: 3,
      broken: { chain: "platform", seq: 0, problem: "missing" },
    });
  });
};

describe(
  "audit verify of a chain whose tenant and head rows were deleted (SQLite)",
  tamperingTests(openSqliteWorld),
);

describeOnPostgres(
  {
    title: "audit verify of a chain whose tenant and head rows were deleted (PostgreSQL)",
    skippedTitle: "audit verify of a chain whose tenant and head rows were deleted (PostgreSQL)",
    tests: "audit verify tests on PostgreSQL",
  },
  tamperingTests(openPostgresWorld),
);
