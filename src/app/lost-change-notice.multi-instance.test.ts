// Threat: a change commits, then its notice to the other instances cannot be sent (NOTIFY
// refused, the connection dropped after the commit, the pool exhausted) and the change's caller
// is told it failed: the client retries a change that already happened (a conflict, or a
// duplicate), and the operator sees an outage for a success. The change stands: its caller is
// answered, the lost notice is reported as a warning, and the other instances, which heard
// nothing, stop serving what they cached within a second. PostgreSQL itself refuses the NOTIFY
// here: the first instance connects as a role that may not call pg_notify, so the store's real
// publishing statement fails, every time.
import { randomBytes } from "node:crypto";
import pg from "pg";
import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  expect,
  it,
  vi,
  type MockInstance,
} from "vitest";
import { migrateStore, openStore } from "../storage/open-store.js";
import {
  createTestDatabase,
  withAdmin,
  type TestDatabase,
} from "../storage/postgres/test-support/test-database.js";
import type { Application, Caller, DecisionRequest } from "./application.js";
import type { Store } from "./ports.js";
import { CountingRandom, ManualClock, openHarness, type Harness } from "./test-support/harness.js";
import { describeOnPostgres, postgresUnreachable } from "./test-support/postgres-instances.js";

/** Runs `work` as the administrator on the test database itself (grants are per database). */
async function onDatabase(url: string, work: (client: pg.Client) => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}

describeOnPostgres(
  {
    title: "a change whose notice to the other instances is lost",
    skippedTitle: "a change whose notice to the other instances is lost",
    tests: "lost change notice tests",
  },
  () => {
    const role = `tenant_mfa_unheard_${randomBytes(4).toString("hex")}`;
    let database: TestDatabase | undefined;
    let first: Harness | undefined;
    let secondStore: Store | undefined;
    let second: (Application & { close(): Promise<void> }) | undefined;
    let secondClock: ManualClock;
    let service: Caller;
    let warn: MockInstance<typeof process.emitWarning>;

    const signIn = (clock: ManualClock): DecisionRequest => ({
      principal: { id: "alice" },
      evidence: {
        events: [
          {
            method: "password",
            source: "platform",
            at: new Date(clock.now().getTime() - 60_000).toISOString(),
          },
          {
            method: "totp",
            source: "platform",
            at: new Date(clock.now().getTime() - 30_000).toISOString(),
          },
        ],
      },
    });
    const lostNotices = () =>
      warn.mock.calls.filter(([warning]) =>
        /Could not announce a committed store change: permission denied for function pg_notify/.test(
          String(warning),
        ),
      );

    beforeAll(async () => {
      if (postgresUnreachable !== undefined)
        throw new Error(`PostgreSQL unreachable in CI: ${postgresUnreachable}`);
      database = await createTestDatabase();
      await migrateStore(database.url);
      await withAdmin((client) => client.query(`CREATE ROLE ${role} LOGIN`));
      await onDatabase(database.url, async (client) => {
        await client.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
        await client.query(
          `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`,
        );
        // Every role may call pg_notify through PUBLIC; this database alone now refuses it.
        await client.query("REVOKE EXECUTE ON FUNCTION pg_notify(text, text) FROM PUBLIC");
      });
      const url = new URL(database.url);
      url.username = role;
      // The set-up's own changes (the bootstrap key, the tenant) lose their notices too.
      warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
      first = await openHarness({ url: url.toString() });
      secondStore = await openStore(database.url);
      secondClock = new ManualClock();
      second = first.application({
        store: secondStore,
        random: new CountingRandom(1_000_000),
        clock: secondClock,
      });
      await first.app.tenants.create(first.admin, { id: "acme", name: "Acme" });
      await first.app.principals.upsert(first.admin, "acme", "alice", { population: "direct" });
      service = await first.caller(["platform_service"], ["acme"]);
    });
    beforeEach(() => {
      warn.mockClear();
    });
    afterEach(() => {
      // Each change is announced once, so each test's one change loses one notice.
      expect(lostNotices()).toHaveLength(1);
    });
    afterAll(async () => {
      await second?.close();
      await secondStore?.close();
      await first?.close();
      await database?.drop();
      await withAdmin((client) => client.query(`DROP ROLE IF EXISTS ${role}`));
      warn.mockRestore();
    });

    it("answers an emergency mandate whose notice is lost, binds it at once there, within a second elsewhere", async () => {
      if (first === undefined || second === undefined) throw new Error("not set up");
      expect((await second.decisions.decide(service, "acme", signIn(secondClock))).outcome).toBe(
        "allow",
      );
      await expect(
        first.app.mandates.create(first.admin, {
          id: "emergency",
          mandate: {
            scope: { tenants: "all" },
            require: { phishingResistant: true },
            exemptible: false,
          },
          rationale: "credential-phishing campaign in progress",
        }),
      ).resolves.toMatchObject({ id: "emergency", version: 1 });
      // The instance that made the change told its own listeners before the NOTIFY failed.
      expect((await first.app.decisions.decide(service, "acme", signIn(first.clock))).outcome).toBe(
        "challenge",
      );
      // The other heard nothing (its clock stands still, so its cache holds) ...
      expect((await second.decisions.decide(service, "acme", signIn(secondClock))).outcome).toBe(
        "allow",
      );
      // ... until its cached rules reach their age limit of one second.
      secondClock.advance(1);
      expect((await second.decisions.decide(service, "acme", signIn(secondClock))).outcome).toBe(
        "challenge",
      );
    });

    it("answers a policy change whose notice is lost, and the change stands", async () => {
      if (first === undefined) throw new Error("not set up");
      const replaced = await first.app.policies.replace(first.admin, "acme", {
        policy: { posture: "platform_mfa" },
        rationale: "move to platform MFA",
        ifMatch: 1,
      });
      expect(replaced.record.version).toBe(2);
      expect((await first.app.policies.current(first.admin, "acme")).record.version).toBe(2);
    });
  },
);
