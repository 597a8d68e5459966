import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { BrowserSessionRecord, FlowRecord } from "../../app/records.js";
import { addTenant, at, DAY, tenantRecord, uniqueId } from "./fixtures.js";
import { openSecondInstance, type ContractContext } from "./store-harness.js";

const sha256 = (value: string): string => createHash("sha256").update(value).digest("hex");

/** A pending flow with no optional field, expiring a day after the epoch. */
export function minimalFlow(tenant: string, overrides: Partial<FlowRecord> = {}): FlowRecord {
  return {
    id: uniqueId("flw"),
    tenant,
    principal: "alice",
    createdBy: "key_platform",
    audience: "https://app.example",
    returnTo: "https://app.example/signed-in",
    firstFactor: [{ method: "password", source: "platform", at: at(0) }],
    events: [],
    csrfToken: "c5rf-7oken-Q4HcJ0bKkD2yPnXG0d8Vw1u",
    status: "pending",
    createdAt: at(0),
    updatedAt: at(0),
    expiresAt: at(DAY),
    version: 1,
    ...overrides,
  };
}

/** A completed flow with every optional field set. */
function fullFlow(tenant: string): FlowRecord {
  return {
    ...minimalFlow(tenant),
    population: "direct",
    state: "opaque-platform-state",
    stepUp: {
      minAal: 3,
      phishingResistant: true,
      userVerification: true,
      maxAgeSeconds: 300,
      acceptedMethods: ["webauthn"],
      proofSource: "platform",
    },
    firstFactor: [{ method: "password", source: "platform", at: at(0) }],
    events: [
      {
        method: "webauthn",
        source: "platform",
        at: at(20),
        userVerified: true,
        backupEligible: false,
        credentialId: "Y3JlZC0x",
      },
      {
        method: "federated",
        source: "idp",
        at: at(30),
        tenant,
        idp: "okta",
        assurance: { aal: 2, phishingResistant: false },
        claims: { acr: "https://refeds.org/profile/mfa", amr: ["pwd", "otp"] },
      },
    ],
    browserHash: sha256("browser-cookie"),
    status: "completed",
    decision: "dec_1",
    codeHash: sha256(uniqueId("code")),
    codeExpiresAt: at(90),
    reusedSession: "ses_1",
    acknowledgedAt: at(40),
    withdrawals: 1,
    proofsWithdrawnAt: at(50),
    refusalsAuditedAt: { "flow.browser_refused": at(45) },
    updatedAt: at(60),
    version: 4,
  };
}

export function session(
  tenant: string,
  overrides: Partial<BrowserSessionRecord> = {},
): BrowserSessionRecord {
  return {
    id: uniqueId("ses"),
    tenant,
    principal: "alice",
    browserHash: sha256("browser-cookie"),
    events: [{ method: "totp", source: "platform", at: at(10) }],
    createdAt: at(10),
    lastActiveAt: at(20),
    expiresAt: at(DAY),
    ...overrides,
  };
}

/**
 * Hosted flows and browser sessions, and the tenant's logo URL. Threats: a flow read or moved on
 * through another tenant; two tabs, two instances or a replayed request both moving one flow on
 * (compare-and-set on its version); a one-time code redeemed twice; a session reused across
 * tenants or principals, or surviving its principal's removal, its IdP's removal or its expiry.
 */
export function describeFlows({ store, harness, sharedByInstances }: ContractContext): void {
  describe("flows", () => {
    const insert = (record: FlowRecord) => store().transaction(({ flows }) => flows.insert(record));
    const get = (tenant: string, id: string) =>
      store().transaction(({ flows }) => flows.get(tenant, id));
    const update = (record: FlowRecord) => store().transaction(({ flows }) => flows.update(record));

    it.each([
      ["every field", fullFlow],
      ["no optional field", (tenant: string) => minimalFlow(tenant)],
    ])("reads back a flow with %s as written", async (_name, build) => {
      const tenant = await addTenant(store());
      const record = build(tenant);
      await insert(record);
      const read = await store().transaction(async ({ flows }) => ({
        get: await flows.get(tenant, record.id),
        byCode:
          record.codeHash === undefined ? undefined : await flows.findByCodeHash(record.codeHash),
      }));
      expect(read).toStrictEqual({
        get: record,
        byCode: record.codeHash === undefined ? undefined : record,
      });
    });

    it("keeps a flow within its tenant: another tenant neither reads nor moves it", async () => {
      const a = await addTenant(store());
      const b = await addTenant(store());
      const record = minimalFlow(a);
      await insert(record);
      const seen = await store().transaction(async ({ flows }) => ({
        getB: await flows.get(b, record.id),
        updateB: await flows.update({ ...record, tenant: b, status: "denied", version: 2 }),
      }));
      expect(seen).toStrictEqual({ getB: undefined, updateB: false });
      expect(await get(a, record.id)).toStrictEqual(record);
    });

    it("moves a flow on by compare-and-set: a stale or skipped version changes nothing", async () => {
      const tenant = await addTenant(store());
      const first = minimalFlow(tenant);
      await insert(first);
      const second: FlowRecord = {
        ...first,
        events: [{ method: "totp", source: "platform", at: at(5) }],
        browserHash: sha256("tab-1"),
        updatedAt: at(5),
        version: 2,
      };
      const staleTab: FlowRecord = { ...first, status: "denied", updatedAt: at(6), version: 2 };
      const skipped: FlowRecord = { ...first, status: "exchanged", updatedAt: at(7), version: 4 };
      const replayed: FlowRecord = { ...first, updatedAt: at(8), version: 1 };
      const results = [
        await update(second),
        await update(staleTab),
        await update(skipped),
        await update(replayed),
      ];
      expect(results).toEqual([true, false, false, false]);
      expect(await get(tenant, first.id)).toStrictEqual(second);
    });

    it("replaces every field on update, and clears optional fields left out", async () => {
      const tenant = await addTenant(store());
      const codeHash = sha256(uniqueId("code"));
      const full: FlowRecord = { ...fullFlow(tenant), codeHash };
      await insert(full);
      const next = minimalFlow(tenant, {
        id: full.id,
        principal: "alice",
        status: "denied",
        updatedAt: at(70),
        expiresAt: at(2 * DAY),
        version: full.version + 1,
      });
      expect(await update(next)).toBe(true);
      const read = await store().transaction(async ({ flows }) => ({
        get: await flows.get(tenant, full.id),
        byOldCode: await flows.findByCodeHash(codeHash),
      }));
      expect(read).toStrictEqual({ get: next, byOldCode: undefined });
    });

    it("lets exactly one of concurrent updates from one version win", async () => {
      const tenant = await addTenant(store());
      const record = minimalFlow(tenant);
      await insert(record);
      let current = record;
      for (let round = 0; round < 3; round += 1) {
        const candidates = [0, 1, 2, 3].map((n): FlowRecord => ({
          ...current,
          events: [{ method: "totp", source: "platform", at: at(100 * round + n) }],
          updatedAt: at(100 * round + n),
          version: current.version + 1,
        }));
        const outcomes = await Promise.all(candidates.map(update));
        expect(outcomes.filter(Boolean)).toHaveLength(1);
        const winner = candidates[outcomes.indexOf(true)];
        const stored = await get(tenant, record.id);
        expect(stored).toStrictEqual(winner);
        if (winner === undefined) throw new Error("no update won");
        current = winner;
      }
    });

    // Two instances at once: only for stores several instances share.
    if (sharedByInstances)
      it("lets one of two instances move a flow on from one version", async () => {
        const second = await openSecondInstance(harness());
        try {
          const tenant = await addTenant(store());
          const record = minimalFlow(tenant);
          await insert(record);
          const mine: FlowRecord = { ...record, status: "completed", updatedAt: at(1), version: 2 };
          const theirs: FlowRecord = { ...record, status: "denied", updatedAt: at(2), version: 2 };
          const outcomes = await Promise.all([
            update(mine),
            second.transaction(({ flows }) => flows.update(theirs)),
          ]);
          expect([...outcomes].sort()).toEqual([false, true]);
          expect(await get(tenant, record.id)).toStrictEqual(outcomes[0] ? mine : theirs);
        } finally {
          await second.close();
        }
      });

    it("finds a flow by its code hash whatever its status, and only by the exact hash", async () => {
      const tenant = await addTenant(store());
      const code = uniqueId("code");
      const pending = minimalFlow(tenant);
      const other = minimalFlow(tenant);
      await insert(pending);
      await insert(other);
      const completed: FlowRecord = {
        ...pending,
        status: "completed",
        codeHash: sha256(code),
        codeExpiresAt: at(90),
        decision: "dec_2",
        updatedAt: at(30),
        version: 2,
      };
      const exchanged: FlowRecord = { ...completed, status: "exchanged", version: 3 };
      const found = await store().transaction(async ({ flows }) => {
        await flows.update(completed);
        const afterCompletion = await flows.findByCodeHash(sha256(code));
        await flows.update(exchanged);
        return {
          afterCompletion,
          afterExchange: await flows.findByCodeHash(sha256(code)),
          otherCode: await flows.findByCodeHash(sha256(`${code}x`)),
          uppercase: await flows.findByCodeHash(sha256(code).toUpperCase()),
        };
      });
      expect(found).toStrictEqual({
        afterCompletion: completed,
        afterExchange: exchanged,
        otherCode: undefined,
        uppercase: undefined,
      });
    });

    it("purges flows that expired before the given time only", async () => {
      const tenant = await addTenant(store());
      const old = minimalFlow(tenant, { expiresAt: at(10) });
      const boundary = minimalFlow(tenant, { expiresAt: at(500) });
      const fresh = minimalFlow(tenant, { expiresAt: at(1000) });
      for (const record of [old, boundary, fresh]) await insert(record);
      const after = await store().transaction(async ({ flows }) => {
        const purged = await flows.purge(at(500));
        return {
          purged: purged >= 1,
          old: await flows.get(tenant, old.id),
          boundary: await flows.get(tenant, boundary.id),
          fresh: await flows.get(tenant, fresh.id),
          again: await flows.purge(at(500)),
        };
      });
      expect(after).toStrictEqual({ purged: true, old: undefined, boundary, fresh, again: 0 });
    });

    // A flow completed near its end lives on until its code expires: completion moves its
    // expiry later, and the purge goes by the expiry as last written, not as inserted.
    it("purges a flow by the expiry its last update wrote", async () => {
      const tenant = await addTenant(store());
      const pending = minimalFlow(tenant, { expiresAt: at(100) });
      await insert(pending);
      const completed: FlowRecord = {
        ...pending,
        status: "completed",
        codeHash: sha256(uniqueId("code")),
        codeExpiresAt: at(150),
        expiresAt: at(150),
        version: 2,
      };
      expect(await update(completed)).toBe(true);
      const kept = await store().transaction(async ({ flows }) => {
        await flows.purge(at(120));
        return flows.get(tenant, pending.id);
      });
      const purged = await store().transaction(async ({ flows }) => {
        await flows.purge(at(151));
        return flows.get(tenant, pending.id);
      });
      expect({ kept, purged }).toStrictEqual({ kept: completed, purged: undefined });
    });

    it("lists a principal's pending and completed flows only: not another principal's, tenant's, or status", async () => {
      const tenant = await addTenant(store());
      const other = await addTenant(store());
      const unspent = [
        minimalFlow(tenant),
        minimalFlow(tenant),
        { ...fullFlow(tenant), principal: "alice", status: "completed" as const },
      ];
      const others = [
        minimalFlow(tenant, { principal: "bob" }),
        minimalFlow(other),
        { ...fullFlow(tenant), principal: "alice", status: "exchanged" as const },
        { ...fullFlow(tenant), principal: "alice", status: "denied" as const },
      ];
      for (const record of [...unspent, ...others]) await insert(record);
      const listed = await store().transaction(({ flows }) => flows.unspentOf(tenant, "alice"));
      expect([...listed].sort((a, b) => (a.id < b.id ? -1 : 1))).toStrictEqual(
        [...unspent].sort((a, b) => (a.id < b.id ? -1 : 1)),
      );
    });
  });

  describe("browser sessions", () => {
    const put = (record: BrowserSessionRecord) =>
      store().transaction(({ browserSessions }) => browserSessions.put(record));
    const get = (record: BrowserSessionRecord) =>
      store().transaction(({ browserSessions }) =>
        browserSessions.get(record.tenant, record.principal, record.browserHash),
      );

    it("stores a session and reads it back as written", async () => {
      const tenant = await addTenant(store());
      const record = session(tenant, {
        events: [
          { method: "totp", source: "platform", at: at(10) },
          {
            method: "webauthn",
            source: "platform",
            at: at(15),
            userVerified: true,
            backupEligible: true,
          },
        ],
      });
      await put(record);
      expect(await get(record)).toStrictEqual(record);
    });

    it("replaces the session of the same tenant, principal and browser, and only that one", async () => {
      const tenant = await addTenant(store());
      const first = session(tenant);
      const otherBrowser = session(tenant, { browserHash: sha256("another-browser") });
      const bob = session(tenant, { principal: "bob" });
      const replacement = session(tenant, {
        events: [{ method: "recovery_code", source: "platform", at: at(50) }],
        createdAt: at(50),
        lastActiveAt: at(60),
        expiresAt: at(2 * DAY),
      });
      for (const record of [first, otherBrowser, bob, replacement]) await put(record);
      expect([await get(first), await get(otherBrowser), await get(bob)]).toStrictEqual([
        replacement,
        otherBrowser,
        bob,
      ]);
    });

    it("keeps one session when concurrent flows in one browser store theirs", async () => {
      const tenant = await addTenant(store());
      const candidates = [0, 1, 2, 3].map((n) => session(tenant, { lastActiveAt: at(100 + n) }));
      await Promise.all(candidates.map(put));
      // Every candidate has the same tenant, principal and browser as this one.
      const stored = await get(session(tenant));
      expect(candidates).toContainEqual(stored);
      const removed = await store().transaction(({ browserSessions }) =>
        browserSessions.removePrincipal(tenant, "alice"),
      );
      expect(removed).toBe(1);
    });

    it("keeps sessions within their tenant and principal", async () => {
      const a = await addTenant(store());
      const b = await addTenant(store());
      const record = session(a);
      await put(record);
      const seen = await store().transaction(async ({ browserSessions }) => ({
        otherTenant: await browserSessions.get(b, "alice", record.browserHash),
        otherPrincipal: await browserSessions.get(a, "bob", record.browserHash),
        otherBrowser: await browserSessions.get(a, "alice", sha256("another-browser")),
        removeB: await browserSessions.removePrincipal(b, "alice"),
        removeBob: await browserSessions.removePrincipal(a, "bob"),
      }));
      expect(seen).toStrictEqual({
        otherTenant: undefined,
        otherPrincipal: undefined,
        otherBrowser: undefined,
        removeB: 0,
        removeBob: 0,
      });
      expect(await get(record)).toStrictEqual(record);
    });

    it("ends every session of a principal in every browser, and no one else's", async () => {
      const a = await addTenant(store());
      const b = await addTenant(store());
      const phone = session(a);
      const laptop = session(a, { browserHash: sha256("laptop") });
      const bob = session(a, { principal: "bob" });
      const aliceInB = session(b);
      for (const record of [phone, laptop, bob, aliceInB]) await put(record);
      const removed = await store().transaction(async ({ browserSessions }) => [
        await browserSessions.removePrincipal(a, "alice"),
        await browserSessions.removePrincipal(a, "alice"),
      ]);
      expect(removed).toEqual([2, 0]);
      expect([
        await get(phone),
        await get(laptop),
        await get(bob),
        await get(aliceInB),
      ]).toStrictEqual([undefined, undefined, bob, aliceInB]);
    });

    it("ends the sessions holding one IdP's evidence in its tenant, and no one else's", async () => {
      const a = await addTenant(store());
      const b = await addTenant(store());
      const federated = (tenant: string, idp: string, claims?: Record<string, unknown>) =>
        ({
          method: "federated",
          source: "idp",
          at: at(30),
          tenant,
          idp,
          assurance: { aal: 2, phishingResistant: false },
          ...(claims === undefined ? {} : { claims }),
        }) as const;
      const totp = { method: "totp", source: "platform", at: at(10) } as const;
      const alice = session(a, { events: [federated(a, "okta")] });
      const bob = session(a, { principal: "bob", events: [totp, federated(a, "okta")] });
      // Another IdP whose id starts the same, or whose claims merely mention this one.
      const carol = session(a, { principal: "carol", events: [federated(a, "okta-2")] });
      const dave = session(a, {
        principal: "dave",
        events: [federated(a, "partner", { idp: "okta" })],
      });
      const erin = session(a, { principal: "erin", events: [totp] });
      const aliceInB = session(b, { events: [federated(b, "okta")] });
      for (const record of [alice, bob, carol, dave, erin, aliceInB]) await put(record);
      const removed = await store().transaction(async ({ browserSessions }) => [
        await browserSessions.removeIdp(a, "okta"),
        await browserSessions.removeIdp(a, "okta"),
      ]);
      expect(removed).toEqual([2, 0]);
      expect(
        await Promise.all([alice, bob, carol, dave, erin, aliceInB].map((record) => get(record))),
      ).toStrictEqual([undefined, undefined, carol, dave, erin, aliceInB]);
    });

    it("purges sessions that expired before the given time only", async () => {
      const tenant = await addTenant(store());
      const old = session(tenant, { expiresAt: at(10) });
      const boundary = session(tenant, { principal: "bob", expiresAt: at(500) });
      const fresh = session(tenant, { principal: "carol", expiresAt: at(1000) });
      for (const record of [old, boundary, fresh]) await put(record);
      const after = await store().transaction(async ({ browserSessions }) => {
        const purged = await browserSessions.purge(at(500));
        return {
          purged: purged >= 1,
          old: await browserSessions.get(tenant, old.principal, old.browserHash),
          boundary: await browserSessions.get(tenant, boundary.principal, boundary.browserHash),
          fresh: await browserSessions.get(tenant, fresh.principal, fresh.browserHash),
          again: await browserSessions.purge(at(500)),
        };
      });
      expect(after).toStrictEqual({ purged: true, old: undefined, boundary, fresh, again: 0 });
    });
  });

  describe("tenant logo URL", () => {
    const read = async (id: string) =>
      store().transaction(async ({ tenants }) => ({
        get: await tenants.get(id),
        listed: (await tenants.list({ limit: 100_000 })).items.find((tenant) => tenant.id === id),
      }));

    it("reads back a logo URL given at insert", async () => {
      const record = { ...tenantRecord(uniqueId("tenant")), logoUrl: "https://cdn.example/a.svg" };
      await store().transaction(({ tenants }) => tenants.insert(record));
      expect(await read(record.id)).toStrictEqual({ get: record, listed: record });
    });

    it("sets, replaces and clears the logo URL; a tenant without one has none", async () => {
      const id = await addTenant(store());
      const plain = tenantRecord(id);
      const before = await read(id);
      const set = async (logoUrl: string | undefined) => ({
        changed: await store().transaction(({ tenants }) => tenants.setLogoUrl(id, logoUrl)),
        ...(await read(id)),
      });
      const first = await set("https://cdn.example/logo.png");
      const second = await set("https://cdn.example/logo-2.png");
      const cleared = await set(undefined);
      expect({ before, first, second, cleared }).toStrictEqual({
        before: { get: plain, listed: plain },
        first: {
          changed: true,
          get: { ...plain, logoUrl: "https://cdn.example/logo.png" },
          listed: { ...plain, logoUrl: "https://cdn.example/logo.png" },
        },
        second: {
          changed: true,
          get: { ...plain, logoUrl: "https://cdn.example/logo-2.png" },
          listed: { ...plain, logoUrl: "https://cdn.example/logo-2.png" },
        },
        cleared: { changed: true, get: plain, listed: plain },
      });
    });

    it("refuses to set a logo URL on a tenant that does not exist", async () => {
      const missing = uniqueId("tenant");
      const changed = await store().transaction(({ tenants }) =>
        tenants.setLogoUrl(missing, "https://cdn.example/logo.png"),
      );
      expect(changed).toBe(false);
      expect(await store().transaction(({ tenants }) => tenants.get(missing))).toBeUndefined();
    });
  });
}
