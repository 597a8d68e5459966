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
