// Threat: `tenant-mfa keys rotate --compromised` withdrew every published signing key at once,
// without a word: a flag mistyped into the wrong command, or an old shell line run again, made
// every assurance token of the platform stop verifying, with nothing to undo it. It now names the
// keys it would withdraw (kids, never anything secret) and goes on only when the operator at a
// terminal types the word shown (or yes), or, without a terminal (a script, CI), when given
// `--yes`; otherwise it exits non-zero and the store is as it was.
import { randomBytes } from "node:crypto";
import { expect, it, vi } from "vitest";
import { DEFAULT_SETTINGS } from "../app/context.js";
import { describeOnEachStore } from "../app/test-support/each-store.js";
import { openApplication } from "../main.js";
import { runCli as run } from "./test-support/run-cli.js";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const KEY = { id: "k1", key: randomBytes(32).toString("base64") };
const ENV = { TENANT_MFA_ENCRYPTION_KEYS: JSON.stringify([KEY]) };

/** The kids of the JWK Set now. */
async function publishedKids(db: string): Promise<string[]> {
  const opened = await openApplication({
    db,
    exemptions: DEFAULT_SETTINGS.exemptions,
    encryptionKeys: [KEY],
  });
  try {
    return (await opened.app.assurance.jwks()).keys.map((key) => key.kid);
  } finally {
    await opened.close();
  }
}

/** A store whose JWK Set holds two keys: the first, retired but published, and the one signing. */
async function seed(db: string): Promise<{ retired: string; signing: string }> {
  const [retired = ""] = await publishedKids(db);
  const rotated = await run(["keys", "rotate", "--db", db], ENV);
  expect(rotated.exitCode, rotated.stderr).toBe(0);
  const [, signing = ""] = /^Signing with (\S+);/.exec(rotated.stdout) ?? [];
  expect(await publishedKids(db)).toEqual([retired, signing]);
  return { retired, signing };
}

/** How many audit events the store holds, as `audit verify` counts them. */
async function auditEvents(db: string): Promise<number> {
  const verified = await run(["audit", "verify", "--db", db], ENV);
  return Number(/(\d+) event\(s\) verified/.exec(verified.stdout)?.[1]);
}

describeOnEachStore("tenant-mfa keys rotate --compromised asks first", (open) => {
  it("refuses without --yes when no terminal can answer, naming the flag, and changes nothing", async () => {
    const db = await open();
    const { retired, signing } = await seed(db);
    const events = await auditEvents(db);
    // A script's empty standard input, and one that pipes "yes" in: neither is an operator.
    for (const text of ["", "yes\n"]) {
      const refused = await run(["keys", "rotate", "--compromised", "--db", db], ENV, {
        text,
        isTTY: false,
      });
      expect([refused.exitCode, refused.stdout]).toEqual([2, ""]);
      expect(refused.stderr).toBe(
        "tenant-mfa: keys rotate --compromised withdraws every published signing key at once " +
          `(${retired}, ${signing}): every assurance token they signed stops verifying. ` +
          "Without a terminal to confirm it at, give --yes. Nothing was changed.\n",
      );
    }
    expect(await publishedKids(db)).toEqual([retired, signing]);
    expect(await auditEvents(db)).toBe(events);
  });

  it("withdraws every earlier key with --yes, without asking", async () => {
    const db = await open();
    const { retired, signing } = await seed(db);
    const done = await run(["keys", "rotate", "--compromised", "--yes", "--db", db], ENV);
    expect([done.exitCode, done.stderr]).toEqual([0, ""]);
    const [, next] =
      /^Signing with (\S+); every earlier key was withdrawn\.\n$/.exec(done.stdout) ?? [];
    expect(next).toBeDefined();
    expect([retired, signing]).not.toContain(next);
    expect(await publishedKids(db)).toEqual([next]);
  });

  it("lists the keys at a terminal and withdraws them when the operator types the word shown, or yes", async () => {
    const db = await open();
    for (const answer of ["withdraw", "yes"]) {
      const before = await publishedKids(db);
      const asked = await run(["keys", "rotate", "--compromised", "--db", db], ENV, {
        text: `${answer}\n`,
        isTTY: true,
      });
      expect(asked.exitCode, asked.stderr).toBe(0);
      expect(asked.stderr).toContain(
        "keys rotate --compromised withdraws every published signing key at once: every assurance token they signed stops verifying.",
      );
      for (const kid of before) expect(asked.stderr).toContain(`  ${kid} (`);
      expect(asked.stderr).toMatch(/Type withdraw \(or yes\) to withdraw them: $/);
      // Nothing secret is shown: no JWK member of a private key, no sealed value.
      expect(asked.stderr).not.toMatch(/"d"|v1\.k1\./);
      const [, next = ""] = /^Signing with (\S+);/.exec(asked.stdout) ?? [];
      expect(await publishedKids(db)).toEqual([next]);
    }
  });

  it("changes nothing when the operator at a terminal types anything else, or nothing", async () => {
    const db = await open();
    const { retired, signing } = await seed(db);
    const events = await auditEvents(db);
    for (const text of ["no\n", "withdra\n", "\n", ""]) {
      const declined = await run(["keys", "rotate", "--compromised", "--db", db], ENV, {
        text,
        isTTY: true,
      });
      expect([declined.exitCode, declined.stdout]).toEqual([1, ""]);
      expect(declined.stderr).toContain(`  ${retired} (`);
      expect(declined.stderr).toMatch(/tenant-mfa: not confirmed: no key was withdrawn\.\n$/);
    }
    expect(await publishedKids(db)).toEqual([retired, signing]);
    expect(await auditEvents(db)).toBe(events);
  });

  it("withdraws nothing when a key was published between the listing and the answer", async () => {
    const db = await open();
    const { retired, signing } = await seed(db);
    let published = "";
    /** The operator's answer, typed once another instance over the store has rotated. */
    async function* answerAfterAnotherRotation(): AsyncIterable<string> {
      const elsewhere = await openApplication({
        db,
        exemptions: DEFAULT_SETTINGS.exemptions,
        encryptionKeys: [KEY],
      });
      try {
        published = (
          await elsewhere.app.assurance.rotateSigningKey(
            {
              id: "another-operator",
              name: "another operator",
              roles: ["platform_admin"],
              tenants: "all",
            },
            {},
          )
        ).kid;
      } finally {
        await elsewhere.close();
      }
      yield "withdraw\n";
    }
    const asked = await run(["keys", "rotate", "--compromised", "--db", db], ENV, {
      text: answerAfterAnotherRotation(),
      isTTY: true,
    });
    expect(published).not.toBe("");
    // The key published meanwhile was never shown: nothing is withdrawn, and the operator is told.
    const [listing = "", after = ""] = asked.stderr.split(
      "Type withdraw (or yes) to withdraw them: ",
    );
    expect(listing).toContain(`  ${signing} (`);
    expect(listing).not.toContain(published);
    expect([asked.exitCode, asked.stdout]).toEqual([1, ""]);
    expect(after).toBe(
      `tenant-mfa: A signing key was published since the keys were listed (${published}): nothing was withdrawn. Run the command again to see the keys published now.\n`,
    );
    expect(await publishedKids(db)).toEqual([retired, signing, published]);
  });
});
