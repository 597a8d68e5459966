import { calculateJwkThumbprint, type JWK } from "jose";
import { randomBytes } from "node:crypto";
import { DEFAULT_SETTINGS } from "../app/context.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { openApplication } from "../main.js";
import { oathtoolCode } from "../verifiers/totp/test-support/oathtool.js";
import { createProgress } from "./progress.js";
import { createProgram } from "./program.js";

interface Run {
  stdout: string;
  stderr: string;
  exitCode: number;
}

async function run(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  const result: Run = { stdout: "", stderr: "", exitCode: 0 };
  const program = createProgram({
    env,
    stdout: { write: (text: string) => (result.stdout += text) },
    stderr: { write: (text: string) => (result.stderr += text) },
    setExitCode: (code) => {
      result.exitCode = code;
    },
  });
  await program.parseAsync(["node", "tenant-mfa", ...args]);
  return result;
}

const freshDb = () => `sqlite:${join(mkdtempSync(join(tmpdir(), "tenant-mfa-cli-")), "store.db")}`;

/** How verify names the key kept in a checkpoint file: its kid and RFC 7638 thumbprint. */
async function keyNamed(checkpointFile: string): Promise<string> {
  const { key } = JSON.parse(checkpointFile) as { key: JWK & { kid: string } };
  return `signed by key ${key.kid}, thumbprint ${await calculateJwkThumbprint(key)}`;
}

describe("tenant-mfa migrate", () => {
  it("applies the migrations once, then reports the store up to date", async () => {
    const db = freshDb();
    const first = await run(["migrate", "--db", db]);
    expect(first.stdout).toMatch(/^Applied \d+ migration\(s\): /);
    const second = await run(["migrate"], { TENANT_MFA_DB: db });
    expect(second.stdout).toBe("The store is up to date.\n");
  });

  it("names the bad key when the configuration is invalid, and exits 2", async () => {
    const result = await run(["migrate", "--db", "mysql://localhost/x"]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(
      "db: expected sqlite:PATH, sqlite::memory: or postgres://… (from command line)",
    );
  });
});

describe("tenant-mfa bootstrap", () => {
  it("prints the first platform admin secret once and refuses a second without --force", async () => {
    const db = freshDb();
    const first = await run(["bootstrap", "--db", db, "--name", "ops", "--holder", "ops@example"]);
    expect(first.exitCode).toBe(0);
    const secret = first.stdout.trim().split("\n").at(-1) ?? "";
    expect(secret).toMatch(/^tmfa_/);

    const opened = await openApplication({
      db,
      exemptions: DEFAULT_SETTINGS.exemptions,
    });
    const caller = await opened.app.authenticate(secret);
    expect(caller).toMatchObject({
      name: "ops",
      holder: "ops@example",
      roles: ["platform_admin"],
      tenants: "all",
    });
    await opened.close();

    const again = await run(["bootstrap", "--db", db]);
    expect(again.exitCode).toBe(1);
    expect(again.stdout).toBe("");
    expect(again.stderr).toContain("a platform administrator key exists; pass --force");

    const forced = await run(["bootstrap", "--db", db, "--force"]);
    expect(forced.exitCode).toBe(0);
    expect(forced.stdout.trim().split("\n").at(-1)).toMatch(/^tmfa_/);
  });
});

/** A store with a platform administrator key, tenant acme and its principal alice. */
async function seededStore(): Promise<string> {
  const db = freshDb();
  const secret = (await run(["bootstrap", "--db", db])).stdout.trim().split("\n").at(-1) ?? "";
  const opened = await openApplication({
    db,
    exemptions: DEFAULT_SETTINGS.exemptions,
  });
  const admin = await opened.app.authenticate(secret);
  await opened.app.tenants.create(admin, { id: "acme", name: "Acme" });
  await opened.app.principals.upsert(admin, "acme", "alice", { population: "direct" });
  await opened.close();
  return db;
}

describe("tenant-mfa audit verify", () => {
  it("reports an intact chain and exits 0", async () => {
    const db = await seededStore();
    const all = await run(["audit", "verify", "--db", db]);
    // The platform chain: the bootstrap key and acme's creation; acme's: its creation and alice.
    expect([all.exitCode, all.stdout]).toEqual([0, "ok: 2 chain(s), 4 event(s) verified\n"]);
    const tenant = await run(["audit", "verify", "--db", db, "--tenant", "acme", "--json"]);
    expect(JSON.parse(tenant.stdout)).toEqual({ ok: true, chains: 1, events: 2 });
  });

  it("prints the first broken link of an edited chain and exits 1", async () => {
    const db = await seededStore();
    const sqlite = new Database(db.slice("sqlite:".length));
    sqlite
      .prepare("UPDATE audit_events SET payload = ? WHERE chain = 'tenant:acme' AND seq = 1")
      .run(JSON.stringify({ id: "acme", name: "Evil Corp" }));
    sqlite.close();
    const result = await run(["audit", "verify", "--db", db]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain("BROKEN: chain tenant:acme, event 1: hash_mismatch");
  });

  it("prints a signed checkpoint, and verifies against it from the file it was saved to", async () => {
    const db = await seededStore();
    const taken = await run(["audit", "checkpoint", "--db", db, "--tenant", "acme"]);
    expect(taken.exitCode, taken.stderr).toBe(0);
    expect(JSON.parse(taken.stdout)).toMatchObject({ chain: "tenant:acme", seq: 2 });
    const file = join(mkdtempSync(join(tmpdir(), "tenant-mfa-checkpoint-")), "acme.json");
    writeFileSync(file, taken.stdout);
    // Five events: signing the first checkpoint made the first signing key, in the platform chain.
    const result = await run(["audit", "verify", "--db", db, "--checkpoint", file]);
    // The key that verified it is named, for the auditor to compare with the one they pinned.
    expect([result.exitCode, result.stdout]).toEqual([
      0,
      `ok: 2 chain(s), 5 event(s) verified, matching the checkpoint of tenant:acme at event 2 (issued by http://127.0.0.1:8080, ${await keyNamed(taken.stdout)})\n`,
    ]);
    const forged = await run(["audit", "verify", "--db", db, "--checkpoint", "eyJ.e30.AAAA"]);
    expect(forged.exitCode).not.toBe(0);
    expect(forged.stderr).toContain("not signed by this service");
  });

  // A checkpoint file that cannot be read is not a forged checkpoint: saying "not signed by this
  // service" would send an auditor looking for tampering that never happened.
  it("names a checkpoint file it cannot read, rather than call its path a forged checkpoint", async () => {
    const db = await seededStore();
    const folder = mkdtempSync(join(tmpdir(), "tenant-mfa-checkpoint-"));
    const result = await run(["audit", "verify", "--db", db, "--checkpoint", folder]);
    expect([result.exitCode, result.stdout]).toEqual([2, ""]);
    expect(result.stderr).toContain(`cannot read the checkpoint file ${folder}`);
    expect(result.stderr).not.toContain("not signed");
  });

  it("verifies a saved checkpoint with the key saved beside it, not with the store's keys", async () => {
    const db = await seededStore();
    const taken = await run(["audit", "checkpoint", "--db", db, "--tenant", "acme"]);
    const saved = JSON.parse(taken.stdout) as { checkpoint: string; key: Record<string, string> };
    const dir = mkdtempSync(join(tmpdir(), "tenant-mfa-checkpoint-"));
    // The same checkpoint kept with another public key (one the store does hold): refused.
    await run(["keys", "rotate", "--db", db]);
    const rotated = JSON.parse((await run(["audit", "checkpoint", "--db", db])).stdout) as {
      key: Record<string, string>;
    };
    expect(rotated.key.kid).not.toBe(saved.key.kid);
    const wrong = join(dir, "wrong-key.json");
    writeFileSync(wrong, JSON.stringify({ ...saved, key: rotated.key }));
    const refused = await run(["audit", "verify", "--db", db, "--checkpoint", wrong]);
    expect([refused.exitCode, refused.stderr]).toEqual([1, expect.stringContaining("checkpoint")]);
    const right = join(dir, "right-key.json");
    writeFileSync(right, JSON.stringify(saved));
    expect((await run(["audit", "verify", "--db", db, "--checkpoint", right])).exitCode).toBe(0);
  });

  // The auditor's trust anchor is the key kept with the checkpoint, not the configuration of
  // whoever verifies: a copy of the store checked without the server's publicUrl must still
  // verify what the server signed, and say which issuer signed it.
  it("verifies a checkpoint with its kept key whatever publicUrl the verifier runs with, naming its issuer", async () => {
    const db = await seededStore();
    const taken = await run(["audit", "checkpoint", "--db", db, "--tenant", "acme"], {
      TENANT_MFA_PUBLIC_URL: "https://mfa.example.com",
    });
    expect(taken.exitCode, taken.stderr).toBe(0);
    const file = join(mkdtempSync(join(tmpdir(), "tenant-mfa-checkpoint-")), "acme.json");
    writeFileSync(file, taken.stdout);
    const verified = await run(["audit", "verify", "--db", db, "--checkpoint", file]);
    expect([verified.exitCode, verified.stderr, verified.stdout]).toEqual([
      0,
      "",
      `ok: 2 chain(s), 5 event(s) verified, matching the checkpoint of tenant:acme at event 2 (issued by https://mfa.example.com, ${await keyNamed(taken.stdout)})\n`,
    ]);
    const json = await run(["audit", "verify", "--db", db, "--checkpoint", file, "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: true,
      checkpoint: { chain: "tenant:acme", seq: 2, issuer: "https://mfa.example.com" },
    });
  });

  it("names a tenant whose chain was deleted, head row and all, and exits 1", async () => {
    const db = await seededStore();
    const sqlite = new Database(db.slice("sqlite:".length));
    sqlite.prepare("DELETE FROM audit_events WHERE chain = 'tenant:acme'").run();
    sqlite.prepare("DELETE FROM audit_heads WHERE chain = 'tenant:acme'").run();
    sqlite.close();
    const result = await run(["audit", "verify", "--db", db]);
    expect([result.exitCode, result.stdout.split("\n")[0]]).toEqual([
      1,
      "BROKEN: chain tenant:acme: missing",
    ]);
  });
});

describe("the engine commands", () => {
  it("keeps `demo` and `evaluate` working", async () => {
    const demo = await run(["demo"]);
    expect(demo.stdout).toContain("outcome: ALLOW");
    const dir = mkdtempSync(join(tmpdir(), "tenant-mfa-eval-"));
    const file = join(dir, "input.json");
    writeFileSync(
      file,
      JSON.stringify({
        tenant: "acme",
        policy: { tenant: "acme", version: 1, posture: "platform_mfa" },
        principal: { id: "alice", population: "direct" },
        evidence: {
          events: [{ method: "password", source: "platform", at: "2026-11-23T11:59:00Z" }],
        },
      }),
    );
    const evaluated = await run(["evaluate", file, "--now", "2026-11-23T12:00:00Z"]);
    expect(JSON.parse(evaluated.stdout)).toMatchObject({ outcome: "challenge" });
  });

  // An operator's typo is a usage error (exit 2), not a decision printed with exit code 0.
  it("refuses an evaluate --now that is no time, and an input file it cannot read", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tenant-mfa-eval-"));
    const file = join(dir, "input.json");
    writeFileSync(file, "{}");
    // "1" and a time without a zone are dates to `new Date` (the year 2001, local time).
    for (const now of ["yesterday", "1", "2026-11-23T12:00:00"]) {
      const badNow = await run(["evaluate", file, "--now", now]);
      expect([badNow.exitCode, badNow.stdout]).toEqual([2, ""]);
      expect(badNow.stderr).toContain("--now");
    }
    const missing = await run(["evaluate", join(dir, "missing.json")]);
    expect([missing.exitCode, missing.stdout]).toEqual([2, ""]);
    expect(missing.stderr).toContain("missing.json");
  });
});

describe("progress", () => {
  it("draws a live line on a terminal, throttled, and clears it", () => {
    const writes: string[] = [];
    let time = 0;
    const progress = createProgress(
      { isTTY: true, write: (s: string) => writes.push(s) },
      "verifying",
      () => time,
    );
    for (let done = 1; done <= 5; done++) {
      time += 60;
      progress.update(done * 1000);
    }
    progress.done();
    expect(writes.filter((w) => w.startsWith("\rverifying ["))).toHaveLength(2);
    expect(writes.at(-2)).toMatch(/ 4,000 events$/);
    expect(writes.at(-1)).toBe("\r\x1b[2K");
  });

  it("draws nothing when the output is not a terminal", () => {
    const writes: string[] = [];
    const progress = createProgress(
      { write: (s: string) => writes.push(s) },
      "verifying",
      () => 1e6,
    );
    progress.update(10);
    progress.done();
    expect(writes).toEqual([]);
  });
});

describe("tenant-mfa secrets reseal", () => {
  const exemptions = DEFAULT_SETTINGS.exemptions;
  const k1 = { id: "k1", key: randomBytes(32).toString("base64") };
  const k2 = { id: "k2", key: randomBytes(32).toString("base64") };

  it("re-seals TOTP secrets with the first configured key, so that the old key can go", async () => {
    const db = freshDb();
    const adminSecret =
      (await run(["bootstrap", "--db", db])).stdout.trim().split("\n").at(-1) ?? "";
    const before = await openApplication({ db, exemptions, encryptionKeys: [k1] });
    const admin = await before.app.authenticate(adminSecret);
    await before.app.tenants.create(admin, { id: "acme", name: "Acme" });
    await before.app.principals.upsert(admin, "acme", "alice", { population: "direct" });
    const { secret: serviceKey } = await before.app.apiKeys.create(admin, {
      name: "backend",
      roles: ["platform_service"],
      tenants: ["acme"],
    });
    const service = await before.app.authenticate(serviceKey);
    const { authenticator, secret } = await before.app.authenticators.beginTotp(
      service,
      "acme",
      "alice",
      {},
    );
    await before.close();

    const result = await run(["secrets", "reseal", "--db", db], {
      TENANT_MFA_ENCRYPTION_KEYS: JSON.stringify([k2, k1]),
    });
    expect([result.exitCode, result.stdout]).toEqual([
      0,
      "Re-sealed 1 TOTP secret(s) and 0 IdP client secret(s) in 1 tenant(s), 0 PKCE verifier(s) of pending OIDC sign-ins, and 0 signing key(s).\n",
    ]);

    const after = await openApplication({ db, exemptions, encryptionKeys: [k2] });
    try {
      await expect(
        after.app.authenticators.confirmTotp(service, "acme", "alice", authenticator.id, {
          code: oathtoolCode(secret, new Date()),
        }),
      ).resolves.toMatchObject({ status: "active" });
    } finally {
      await after.close();
    }
  });
});

describe("tenant-mfa keys rotate", () => {
  const key = { id: "k1", key: randomBytes(32).toString("base64") };

  it("rotates the signing key: the JWK Set then holds the new key beside the old one, or only the new one when compromised", async () => {
    const db = freshDb();
    const env = { TENANT_MFA_ENCRYPTION_KEYS: JSON.stringify([key]) };
    const kids = async () => {
      const opened = await openApplication({
        db,
        exemptions: DEFAULT_SETTINGS.exemptions,
        encryptionKeys: [key],
      });
      try {
        return (await opened.app.assurance.jwks()).keys.map((k) => k.kid);
      } finally {
        await opened.close();
      }
    };
    const first = await kids();
    expect(first).toHaveLength(1);

    const rotated = await run(["keys", "rotate", "--db", db], env);
    expect(rotated.exitCode).toBe(0);
    const [, kid] = /^Signing with (\S+);/.exec(rotated.stdout) ?? [];
    expect(await kids()).toEqual([...first, kid]);

    const withdrawn = await run(["keys", "rotate", "--compromised", "--yes", "--db", db], env);
    expect(withdrawn.stdout).toMatch(/every earlier key was withdrawn/);
    const [, last] = /^Signing with (\S+);/.exec(withdrawn.stdout) ?? [];
    expect(await kids()).toEqual([last]);
  });
});

describe("tenant-mfa report compliance", () => {
  it("prints the tenant's compliance report as JSON, from a store it only reads", async () => {
    const db = await seededStore();
    const result = await run([
      "report",
      "compliance",
      "--db",
      db,
      "--tenant",
      "acme",
      "--due-within-days",
      "30",
    ]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      tenant: "acme",
      policy: { version: 1, posture: "platform_mfa", mode: "enforce" },
      principals: { registered: 1, directWithoutPlatformMfa: { principals: ["alice"] } },
      exemptions: { dueWithinDays: 30, items: [] },
      decisions: { total: 0 },
    });
  });

  it("names what is wrong: an unknown tenant (exit 1), a bad period or number of days (exit 2, an invalid option value)", async () => {
    const db = await seededStore();
    const report = (...args: string[]) => run(["report", "compliance", "--db", db, ...args]);
    expect(await report("--tenant", "globex")).toMatchObject({ exitCode: 1, stdout: "" });
    for (const [args, message] of [
      [["--from", "yesterday"], "--from must be an ISO 8601 time"],
      [["--to", "10000-01-01T00:00:00Z"], "--to must be an ISO 8601 time"],
      [
        ["--from", "2026-11-02T00:00:00Z", "--to", "2026-11-01T00:00:00Z"],
        "--from must be before --to.",
      ],
      [
        ["--from", "2024-01-01T00:00:00Z", "--to", "2026-01-01T00:00:00Z"],
        "at most 366 days of decisions: narrow --from and --to.",
      ],
      [["--due-within-days", "two"], "--due-within-days must be a whole number"],
      [["--due-within-days", "0"], "--due-within-days must be a whole number"],
      [["--due-within-days", "91"], "--due-within-days must be a whole number"],
    ] as const) {
      expect(await report("--tenant", "acme", ...args), args.join(" ")).toMatchObject({
        exitCode: 2,
        stdout: "",
        stderr: expect.stringContaining(message),
      });
    }
  });
});
