import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { tamperStore } from "../../app/test-support/tampered-world.js";
import { describeStoreContract } from "../contract/store-contract.js";
import { tenantRecord } from "../contract/fixtures.js";
import { migrateStore, openStore } from "../open-store.js";
import { migrateToLatest } from "../migrations/migrate-to-latest.js";
import { createSqliteKysely } from "./create-sqlite-kysely.js";

const folder = mkdtempSync(join(tmpdir(), "tenant-mfa-sqlite-"));
afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

describeStoreContract("SQLite store (file)", async () => {
  const url = `sqlite:${join(folder, "contract", "store.db")}`;
  const store = await openStore(url);
  return {
    store,
    tamper: (statements) => tamperStore(url, statements),
    cleanup: () => store.close(),
  };
});

// As production opens it: no nesting detection, so no AsyncLocalStorage on any path.
describeStoreContract(
  "SQLite store (in memory, as production opens it)",
  async () => {
    const store = await openStore("sqlite::memory:", { detectNesting: false });
    return { store, cleanup: () => store.close() };
  },
  { detectsNesting: false, tamperable: false },
);

describe("SQLite store", () => {
  it("creates the database's folder and sets WAL, NORMAL sync, foreign keys, a busy timeout, a 64 MiB page cache and temporary storage in memory", async () => {
    const db = createSqliteKysely(join(folder, "nested", "deeper", "pragmas.db"));
    try {
      const read = async (pragma: string) =>
        Object.values(
          (await sql.raw<Record<string, unknown>>(`pragma ${pragma}`).execute(db)).rows[0] ?? {},
        );
      expect(await read("journal_mode")).toEqual(["wal"]);
      expect(await read("synchronous")).toEqual([1]);
      expect(await read("foreign_keys")).toEqual([1]);
      expect(await read("busy_timeout")).toEqual([5000]);
      expect(await read("cache_size")).toEqual([-65536]);
      // 2 = MEMORY: savepoints' sub-journals stay off the file system.
      expect(await read("temp_store")).toEqual([2]);
    } finally {
      await db.destroy();
    }
  });

  it("runs overlapping transactions one after the other, never interleaved", async () => {
    const store = await openStore("sqlite::memory:");
    try {
      const steps: string[] = [];
      const work = (name: string) =>
        store.transaction(async ({ tenants }) => {
          steps.push(`${name} begins`);
          await sleep(20);
          await tenants.insert(tenantRecord(name));
          await sleep(20);
          steps.push(`${name} ends`);
        });
      await Promise.all([work("a"), work("b"), work("c")]);
      expect(steps).toEqual(["a begins", "a ends", "b begins", "b ends", "c begins", "c ends"]);
    } finally {
      await store.close();
    }
  });

  it("keeps what it committed across a close and a reopen", async () => {
    const url = `sqlite:${join(folder, "reopen.db")}`;
    const first = await openStore(url);
    await first.transaction(({ tenants }) => tenants.insert(tenantRecord("acme")));
    await first.close();
    const second = await openStore(url);
    try {
      const read = await second.transaction(({ tenants }) => tenants.get("acme"));
      expect(read).toStrictEqual(tenantRecord("acme"));
    } finally {
      await second.close();
    }
  });

  it("applies each migration once and reports only those it applied", async () => {
    const url = `sqlite:${join(folder, "migrate.db")}`;
    expect(await migrateStore(url)).toEqual([
      "0001-initial",
      "0002-federation",
      "0003-authenticators",
      "0004-webauthn",
      "0005-recovery-codes",
      "0006-verification-throttles",
      "0007-signing-keys",
      "0008-flows",
      "0009-audit-indexes",
      "0010-verification-throttle-activity",
      "0011-receipt-indexes",
      "0012-api-key-holders",
      "0013-flows-by-principal",
      "0014-idp-tombstones",
      "0015-webauthn-attested",
      "0016-principal-shared-login",
      "0017-webauthn-attestation-root",
      "0018-client-address-throttles",
      "0019-principal-idp",
      "0020-federation-answers",
      "0021-principal-proofs-withdrawn",
      "0022-pending-authenticators",
      "0023-principal-proofs-withdrawn-seq",
      "0024-exemptions-requested-by",
      "0025-principal-idp-issuer",
      "0026-webauthn-clone-suspected",
    ]);
    expect(await migrateStore(url)).toEqual([]);
    const store = await openStore(url, { migrate: false });
    try {
      await expect(
        store.transaction(({ tenants }) => tenants.get("acme")),
      ).resolves.toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it("indexes audit events and receipts only as they are read: events by chain, with type or time; receipts by id", async () => {
    const db = createSqliteKysely(join(folder, "read-indexes.db"));
    try {
      await migrateToLatest(db);
      const indexesOf = async (table: string) =>
        (
          await sql<{ name: string }>`
            select name from sqlite_master where type = 'index' and tbl_name = ${table}
            order by name`.execute(db)
        ).rows.map((row) => row.name);
      expect(await indexesOf("audit_events")).toEqual([
        "audit_events_chain_at",
        "audit_events_chain_type",
        "sqlite_autoindex_audit_events_1",
        "sqlite_autoindex_audit_events_2",
      ]);
      expect(await indexesOf("receipts")).toEqual(["sqlite_autoindex_receipts_1"]);
    } finally {
      await db.destroy();
    }
  });

  it("leaves the schema alone when asked not to migrate", async () => {
    const store = await openStore(`sqlite:${join(folder, "unmigrated.db")}`, { migrate: false });
    try {
      await expect(store.transaction(({ tenants }) => tenants.get("acme"))).rejects.toThrow(
        /no such table/,
      );
    } finally {
      await store.close();
    }
  });

  it("stops answering pings once closed, and closes twice without error", async () => {
    const store = await openStore("sqlite::memory:");
    await store.ping();
    await store.close();
    await expect(store.close()).resolves.toBeUndefined();
    await expect(store.ping()).rejects.toThrow();
  });
});
