import { scryptSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createScryptHasher, DEFAULT_SCRYPT_COST } from "./scrypt-hasher.js";

describe("scrypt hasher", () => {
  const cheap = createScryptHasher({ log2N: 10, r: 8, p: 1 });

  it("hashes with the default cost (N = 2^14, r = 8, p = 1) and a fresh 16-byte salt, and verifies", async () => {
    const hasher = createScryptHasher();
    expect(DEFAULT_SCRYPT_COST).toEqual({ log2N: 14, r: 8, p: 1 });
    const a = await hasher.hash("04HMASW9NF6YZZPWQAC7");
    const b = await hasher.hash("04HMASW9NF6YZZPWQAC7");
    expect(a).toMatch(/^\$scrypt\$ln=14,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(a).not.toBe(b);
    expect(await hasher.verify("04HMASW9NF6YZZPWQAC7", a)).toBe(true);
    expect(await hasher.verify("04HMASW9NF6YZZPWQAC8", a)).toBe(false);
  });

  it("computes RFC 7914 scrypt as node:crypto does, from the salt and cost it stores", async () => {
    const stored = await cheap.hash("secret");
    const [, , params, salt, hash] = stored.split("$");
    expect(params).toBe("ln=10,r=8,p=1");
    const expected = scryptSync("secret", Buffer.from(salt!, "base64"), 32, {
      N: 1024,
      r: 8,
      p: 1,
    });
    expect(Buffer.from(hash!, "base64")).toEqual(expected);
  });

  it("verifies a hash made under another cost: costs can be raised later", async () => {
    const old = await cheap.hash("ZZZZZZZZZZZZZZZZZZZZ");
    expect(
      await createScryptHasher({ log2N: 12, r: 8, p: 1 }).verify("ZZZZZZZZZZZZZZZZZZZZ", old),
    ).toBe(true);
  });

  it("answers false for a stored value it cannot read or whose cost is out of bounds", async () => {
    const good = await cheap.hash("x");
    const [, , , salt, hash] = good.split("$");
    for (const stored of [
      "",
      "plain",
      good.replace("$scrypt$", "$argon2id$"),
      `$scrypt$ln=30,r=8,p=1$${salt!}$${hash!}`,
      `$scrypt$ln=10,r=99,p=1$${salt!}$${hash!}`,
      `$scrypt$ln=10,r=8,p=1$${salt!}$AAAA`,
      `${good}$extra`,
    ]) {
      expect(await cheap.verify("x", stored), stored).toBe(false);
    }
  });

  it("refuses a cost out of bounds", () => {
    expect(() => createScryptHasher({ log2N: 0, r: 8, p: 1 })).toThrow();
    expect(() => createScryptHasher({ log2N: 21, r: 8, p: 1 })).toThrow();
    expect(() => createScryptHasher({ log2N: 14, r: 8.5, p: 1 })).toThrow();
  });
});
