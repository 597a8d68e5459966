/**
 * Threat: the key file made for a new SQLite store lost in a crash while the secrets it sealed
 * survive. `encryption-key.json` is the one thing that opens every TOTP secret, OIDC client
 * secret and signing key sealed with it; it was written and used at once, never flushed, so a
 * power loss in the seconds after it was made (before the kernel wrote it back) could leave it
 * empty or gone while the store's checkpoints had flushed values sealed with it: every one of
 * them lost for good, and the server refusing to start. The file is flushed, and its folder
 * entry with it, before the key is used (the file is flushed under a name of its own, then linked
 * into place: sealing-keys.key-file-race.test.ts).
 */
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { keyFromFile } from "./sealing-keys.js";

/**
 * The paths whose descriptors were flushed (`fsyncSync`), in order, and the files (inodes) they
 * were then: a file flushed under one name may be linked to another.
 */
const flushed = vi.hoisted(() => ({ paths: [] as string[], inodes: [] as number[] }));
vi.mock("node:fs", async (importOriginal) => {
  const { fsyncObserved } = await import("../storage/test-support/fsync-observed.js");
  const fs = await importOriginal<typeof import("node:fs")>();
  return fsyncObserved(fs, (path) => {
    flushed.paths.push(path);
    flushed.inodes.push(fs.statSync(path).ino);
  });
});

beforeEach(() => {
  flushed.paths = [];
  flushed.inodes = [];
});

describe("the key file made for a new store", () => {
  it("is flushed to disk, its folder entry too, before its key is used", () => {
    const path = join(mkdtempSync(join(tmpdir(), "tenant-mfa-durable-key-")), "data", "key.json");

    const made = keyFromFile(path);

    // The file now at `path` was flushed, then its folder entry.
    const file = flushed.inodes.indexOf(statSync(path).ino);
    expect(file).toBeGreaterThanOrEqual(0);
    expect(flushed.paths.lastIndexOf(dirname(path))).toBeGreaterThan(file);
    // What was flushed is the whole key, as it is read back.
    const kept = JSON.parse(readFileSync(path, "utf8")) as { id: string; key: string };
    expect(kept.id).toBe(made.id);
    expect(Buffer.from(kept.key, "base64")).toEqual(made.key);
  });

  it("is not written again, nor flushed, when it is there already", () => {
    const path = join(mkdtempSync(join(tmpdir(), "tenant-mfa-durable-key-")), "key.json");
    const made = keyFromFile(path);
    flushed.paths = [];

    expect(keyFromFile(path)).toEqual(made);
    expect(flushed.paths).toEqual([]);
  });
});
