/**
 * Threat: two servers (or a server and a command) started at once on a new SQLite store, each
 * making its key file. The first made `encryption-key.json` (exclusive create) and wrote the key
 * into it after: a second start in between read an empty file and failed to start, and a write
 * that failed (a full disk) left that empty file for good, so that no start succeeded again. The
 * key is written and flushed under a name of its own first, then linked into place, which fails
 * for all but one: every reader sees no file or a whole one, every start ends with the same key,
 * and a failed making leaves nothing behind.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { keyFromFile } from "./sealing-keys.js";
import type { RacedKey } from "./test-support/key-file-racer.js";
import { takeKeysInProcesses } from "./test-support/take-keys-in-processes.js";

/** The steps of making a key file that a test acts before, each once, while set. */
type Step = "writeFileSync" | "fsyncSync" | "linkSync";
const before = vi.hoisted(() => ({ steps: new Map<Step, () => void>() }));
vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  const actingBefore =
    <A extends unknown[], R>(step: Step, call: (...args: A) => R) =>
    (...args: A): R => {
      const act = before.steps.get(step);
      before.steps.delete(step);
      act?.();
      return call(...args);
    };
  return {
    ...fs,
    writeFileSync: actingBefore("writeFileSync", fs.writeFileSync),
    fsyncSync: actingBefore("fsyncSync", fs.fsyncSync),
    linkSync: actingBefore("linkSync", fs.linkSync),
  };
});

afterEach(() => {
  before.steps.clear();
});

const newKeyFile = () =>
  join(mkdtempSync(join(tmpdir(), "tenant-mfa-key-race-")), "data", "encryption-key.json");

const asRaced = ({ id, key }: { id: string; key: Buffer }): RacedKey => ({
  id,
  key: key.toString("base64"),
});

describe("a new store's key file made by several processes at once", () => {
  it("gives each the same whole key, none failing, and leaves nothing else beside it", async () => {
    const root = mkdtempSync(join(tmpdir(), "tenant-mfa-key-race-"));
    const paths = Array.from({ length: 100 }, (_, round) =>
      join(root, `store-${String(round)}`, "encryption-key.json"),
    );

    const taken = await takeKeysInProcesses(4, paths);

    paths.forEach((path, round) => {
      const kept = JSON.parse(readFileSync(path, "utf8")) as RacedKey;
      expect(
        taken.map((keys) => keys[round]),
        path,
      ).toEqual(taken.map(() => kept));
      expect(readdirSync(join(path, "..")), path).toEqual(["encryption-key.json"]);
    });
  }, 60_000);

  it.each([
    ["made but not yet written (before writeFileSync)", "writeFileSync"],
    ["written but not yet on disk (before fsyncSync)", "fsyncSync"],
  ] as const)(
    "is not there for a start while it is %s: that start makes one, and both end with its key",
    (_moment, step) => {
      const path = newKeyFile();
      let other: RacedKey | { thrown: unknown } | undefined;
      before.steps.set(step, () => {
        expect(existsSync(path), "the key file, before its key is whole and on disk").toBe(false);
        try {
          other = asRaced(keyFromFile(path));
        } catch (error) {
          other = { thrown: error };
        }
      });

      const made = asRaced(keyFromFile(path));

      expect(other, "the other start, at that step").toEqual(made);
      expect(JSON.parse(readFileSync(path, "utf8"))).toEqual(made);
      expect(readdirSync(join(path, ".."))).toEqual(["encryption-key.json"]);
    },
  );

  it.each([
    ["writeFileSync", "ENOSPC"],
    ["fsyncSync", "EIO"],
    ["linkSync", "EPERM"],
  ] as const)(
    "leaves nothing behind when %s fails (%s), and the next start makes it",
    (step, code) => {
      const path = newKeyFile();
      before.steps.set(step, () => {
        throw Object.assign(new Error(`${code}: failed, ${step}`), { code });
      });

      expect(() => keyFromFile(path)).toThrow(code);
      expect(readdirSync(join(path, ".."))).toEqual([]);

      const made = asRaced(keyFromFile(path));
      expect(JSON.parse(readFileSync(path, "utf8"))).toEqual(made);
    },
  );
});
