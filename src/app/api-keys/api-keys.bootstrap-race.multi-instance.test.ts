// Threat: two `tenant-mfa bootstrap` runs at once on one store (a deploy script retried on two
// hosts, two operators) both find no platform administrator key and both make one: full-power
// keys beyond the one meant, each shown once to whoever ran it. The check and the insert are one
// serialised step, on PostgreSQL (separate connection pools, as separate processes have) and on
// one SQLite file opened by several connections: exactly one run creates a key, every other one
// is refused with `bootstrap.exists`.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { openStore } from "../../storage/open-store.js";
import {
  createTestDatabase,
  type TestDatabase,
} from "../../storage/postgres/test-support/test-database.js";
import { chainOf } from "../audit/audit-chain.js";
import { DEFAULT_SETTINGS, type Context } from "../context.js";
import { AppError } from "../errors.js";
import type { Store } from "../ports.js";
import { CountingRandom, ManualClock } from "../test-support/harness.js";
import { describeOnPostgres, postgresUnreachable } from "../test-support/postgres-instances.js";
import { bootstrapPlatformAdmin } from "./api-keys.js";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const RUNS = 6;
const ROUNDS = 4;

async function outcomeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "created";
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
}

/** Bootstraps on every store at once, round after round, each round after revoking the keys. */
function describeRace(open: () => Promise<{ stores: Store[]; close: () => Promise<void> }>) {
  let stores: Store[] = [];
  let close = () => Promise.resolve();
  beforeAll(async () => {
    ({ stores, close } = await open());
  });
  afterAll(() => close());

  it(`of ${String(RUNS)} bootstraps at once, exactly one creates a key and the others get bootstrap.exists`, async () => {
    const clock = new ManualClock();
    const contexts: Context[] = stores.map((store, index) => ({
      store,
      clock,
      random: new CountingRandom((index + 1) * 1_000_000),
      settings: DEFAULT_SETTINGS,
    }));
    for (let round = 0; round < ROUNDS; round += 1) {
      const outcomes = await Promise.all(
        contexts.map((context) =>
          outcomeOf(bootstrapPlatformAdmin(context, { name: `round ${String(round)}` })),
        ),
      );
      expect(outcomes.sort()).toEqual([
        ...Array<string>(RUNS - 1).fill("bootstrap.exists"),
        "created",
      ]);
      const [store] = stores;
      if (store === undefined) throw new Error("no store");
      const keys = await store.read((r) => r.apiKeys.list());
      const active = keys.filter((key) => key.revokedAt === undefined);
      expect(active.map((key) => key.name)).toEqual([`round ${String(round)}`]);
      const events = await store.read((r) =>
        r.audit.read(chainOf(null), { afterSeq: 0, limit: 1000 }),
      );
      expect(events.filter((event) => event.type === "api_key.created")).toHaveLength(round + 1);
      // A revoked key does not count: the next round bootstraps again.
      await store.transaction((r) =>
        Promise.all(active.map((key) => r.apiKeys.revoke(key.id, clock.now().toISOString()))),
      );
    }
  });
}

describe("bootstrap on one SQLite file opened by several connections", () => {
  describeRace(async () => {
    const url = `sqlite:${join(mkdtempSync(join(tmpdir(), "tenant-mfa-bootstrap-")), "store.db")}`;
    const stores: Store[] = [];
    for (let i = 0; i < RUNS; i += 1) stores.push(await openStore(url));
    return {
      stores,
      close: async () => {
        for (const store of stores) await store.close();
      },
    };
  });
});

describeOnPostgres(
  {
    title: "bootstrap on several instances sharing PostgreSQL",
    skippedTitle: "bootstrap on several instances",
    tests: "concurrent bootstrap tests",
  },
  () => {
    describeRace(async () => {
      if (postgresUnreachable !== undefined)
        throw new Error(`PostgreSQL unreachable in CI: ${postgresUnreachable}`);
      const database: TestDatabase = await createTestDatabase();
      const stores: Store[] = [];
      for (let i = 0; i < RUNS; i += 1) stores.push(await openStore(database.url));
      // Every pool connected before the race, so that the runs start together.
      await Promise.all(stores.map((store) => store.ping()));
      return {
        stores,
        close: async () => {
          for (const store of stores) await store.close();
          await database.drop();
        },
      };
    });
  },
);
