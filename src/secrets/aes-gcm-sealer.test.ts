import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createAesGcmSealer } from "./aes-gcm-sealer.js";
import { decodeKeys, keyFromFile } from "./sealing-keys.js";

const key = (id: string) => ({ id, key: randomBytes(32) });

describe("AES-256-GCM sealer", () => {
  const k1 = key("k1");
  const sealer = createAesGcmSealer([k1]);

  it("opens what it sealed, and never stores the plaintext", () => {
    const sealed = sealer.seal("client-secret-value", "idp:acme:okta");
    expect(sealed).not.toContain("client-secret-value");
    expect(sealed.startsWith("v1.k1.")).toBe(true);
    expect(sealer.open(sealed, "idp:acme:okta")).toBe("client-secret-value");
  });

  it("seals the same secret differently each time (fresh IV)", () => {
    expect(sealer.seal("s", "c")).not.toBe(sealer.seal("s", "c"));
  });

  it("refuses a value moved to another record (context is authenticated)", () => {
    const sealed = sealer.seal("s", "idp:acme:okta");
    expect(() => sealer.open(sealed, "idp:other:okta")).toThrow();
  });

  it("refuses a tampered value", () => {
    const sealed = sealer.seal("secret", "c");
    const parts = sealed.split(".");
    const body = Buffer.from(parts[3]!, "base64url");
    body[0] = body[0]! ^ 1;
    parts[3] = body.toString("base64url");
    expect(() => sealer.open(parts.join("."), "c")).toThrow();
  });

  it("refuses malformed values and unknown key ids", () => {
    expect(() => sealer.open("v1.k9.aaaa.bbbb", "c")).toThrow(/not configured/);
    expect(() => sealer.open("garbage", "c")).toThrow();
    expect(() => sealer.open("v1.k1.AAAA.AA", "c")).toThrow();
  });

  it("rotates: seals with the first key, opens with any configured one", () => {
    const old = sealer.seal("s", "c");
    const rotated = createAesGcmSealer([key("k2"), k1]);
    expect(rotated.open(old, "c")).toBe("s");
    expect(rotated.seal("s", "c").startsWith("v1.k2.")).toBe(true);
  });

  it("refuses keys of the wrong size", () => {
    expect(() => createAesGcmSealer([{ id: "k", key: randomBytes(16) }])).toThrow(/32 bytes/);
    expect(() => createAesGcmSealer([])).toThrow();
  });
});

describe("sealing keys", () => {
  it("decodes configured keys and refuses a key of the wrong size", () => {
    const key = randomBytes(32).toString("base64");
    expect(decodeKeys([{ id: "a", key }])[0]?.key.length).toBe(32);
    expect(() => decodeKeys([{ id: "b", key: "c2hvcnQ=" }])).toThrow(/32 bytes/);
  });

  it("makes a key file on first use, readable by its owner only, and reads it back after", () => {
    const folder = fs.mkdtempSync(join(tmpdir(), "tenant-mfa-keys-"));
    try {
      const path = join(folder, "nested", "encryption-key.json");
      const first = keyFromFile(path);
      expect(fs.statSync(path).mode & 0o777).toBe(0o600);
      const again = keyFromFile(path);
      expect(again.id).toBe(first.id);
      expect(again.key.equals(first.key)).toBe(true);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it("refuses a key file that is a symbolic link to no file, naming it, and makes nothing", () => {
    const folder = fs.mkdtempSync(join(tmpdir(), "tenant-mfa-keys-"));
    try {
      const path = join(folder, "encryption-key.json");
      fs.symlinkSync(join(folder, "secrets", "key.json"), path);
      expect(() => keyFromFile(path)).toThrow(`The encryption key file ${path} cannot be made`);
      expect(fs.readdirSync(folder)).toEqual(["encryption-key.json"]);
      expect(fs.existsSync(join(folder, "secrets"))).toBe(false);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});
