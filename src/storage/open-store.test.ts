import { describe, expect, it } from "vitest";
import { migrateStore, openStore } from "./open-store.js";

describe("openStore", () => {
  it.each([
    ["mysql://root:hunter2@db/app", /Unsupported store URL scheme mysql:/],
    ["./data/tenant-mfa.db", /Unsupported store URL; use sqlite:PATH/],
    ["sqlite:", /names no file/],
  ])("refuses %s with a message naming the accepted forms", async (url, message) => {
    await expect(openStore(url)).rejects.toThrow(message);
    await expect(migrateStore(url)).rejects.toThrow(message);
  });

  it("never repeats a refused URL, which may hold a password", async () => {
    await expect(openStore("mysql://root:hunter2@db/app")).rejects.not.toThrow(/hunter2/);
  });

  // An unencoded / (or ?, #) in the password moves the rest of it into the path (or the query),
  // where PostgreSQL's "database … does not exist" would quote it.
  it.each([
    "postgres://app:/S3cret@127.0.0.1:1/app",
    "postgres://app:S3/cret@127.0.0.1:1/app",
    "postgresql://app:pa?S3cret@127.0.0.1:1/app",
    "postgres://app:pa#S3cret@127.0.0.1:1/app",
  ])("refuses %s, whose password is not percent-encoded, without repeating it", async (url) => {
    for (const open of [openStore, migrateStore]) {
      const refused = open(url);
      await expect(refused).rejects.toThrow(/must be percent-encoded/);
      await expect(refused).rejects.not.toThrow(/S3cret|cret/);
    }
  });

  it("opens an in-memory SQLite store with sqlite::memory:", async () => {
    const store = await openStore("sqlite::memory:");
    try {
      await expect(store.ping()).resolves.toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it.each(["postgres", "postgresql"])(
    "takes %s:// URLs to PostgreSQL, failing clearly when nothing listens there",
    async (scheme) => {
      await expect(openStore(`${scheme}://postgres@127.0.0.1:1/none`)).rejects.toThrow(
        /ECONNREFUSED/,
      );
    },
  );
});
