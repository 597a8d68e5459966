import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller } from "../application.js";
import { createApplication } from "../create-application.js";
import { AppError } from "../errors.js";
import { provedMfaJustNow } from "../test-support/fresh-mfa.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import { RECOVERY_CODE_ALPHABET } from "./recovery-code-format.js";

const outcome = async (promise: Promise<unknown>): Promise<string> => {
  try {
    await promise;
    return "ok";
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
};

const CODE = new RegExp(`^([${RECOVERY_CODE_ALPHABET}]{4}-){4}[${RECOVERY_CODE_ALPHABET}]{4}$`);

describe("recovery codes: generation, use, status and revocation", () => {
  let h: Harness;
  let service: Caller;

  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme Corp" });
    await h.app.principals.upsert(h.admin, "acme", "alice", { population: "direct" });
    service = await h.caller(["platform_service"], ["acme"]);
  });
  afterEach(() => h.close());

  const generate = async () => {
    await provedMfaJustNow(h, "acme", "alice");
    return h.app.recoveryCodes.generate(service, "acme", "alice");
  };
  const verify = (code: string) => h.app.recoveryCodes.verify(service, "acme", "alice", { code });
  const status = () => h.app.recoveryCodes.status(service, "acme", "alice");

  it("issues ten distinct codes of 20 base32 characters with distinct locators", async () => {
    const { codes, createdAt } = await generate();
    expect(codes).toHaveLength(10);
    for (const code of codes) expect(code).toMatch(CODE);
    expect(new Set(codes).size).toBe(10);
    expect(new Set(codes.map((c) => c.slice(0, 4))).size).toBe(10);
    expect(createdAt).toBe(h.clock.now().toISOString());
    expect(await status()).toEqual({
      enrolled: true,
      total: 10,
      remaining: 10,
      failedAttempts: 0,
      createdAt,
    });
  });

  it("stores only salted scrypt hashes, one salt per code, never a code", async () => {
    const { codes } = await generate();
    const stored = await h.store.transaction(async ({ recoveryCodes }) => {
      const found = await Promise.all(
        codes.map((code) => recoveryCodes.find("acme", "alice", code.slice(0, 4))),
      );
      return found.map((f) => f?.code?.hash ?? "");
    });
    for (const hash of stored)
      expect(hash).toMatch(/^\$scrypt\$ln=\d+,r=8,p=1\$[^$]{22}\$[^$]{43}$/);
    expect(new Set(stored.map((hash) => hash.split("$")[3])).size).toBe(10);
    const dump = JSON.stringify(stored);
    for (const code of codes) {
      expect(dump).not.toContain(code);
      expect(dump).not.toContain(code.replace(/-/g, ""));
      expect(dump).not.toContain(code.replace(/-/g, "").slice(4));
    }
  });

  it("accepts a code once, returns the recovery-code event and how many remain", async () => {
    const { codes } = await generate();
    h.clock.advance(60);
    const used = await verify(codes[3]!);
    expect(used).toEqual({
      event: {
        method: "recovery_code",
        source: "platform",
        at: h.clock.now().toISOString(),
        verification: expect.stringMatching(/^evt_/),
      },
      remaining: 9,
    });
    expect(await outcome(verify(codes[3]!))).toBe("recovery_code.used");
    expect(await status()).toMatchObject({
      remaining: 9,
      lastUsedAt: h.clock.now().toISOString(),
      failedAttempts: 1,
    });
  });

  it("accepts codes typed in lower case, without dashes, with spaces, and I/L/O for 1/1/0", async () => {
    const { codes } = await generate();
    const [a, b, c, d] = codes as [string, string, string, string];
    expect((await verify(a.toLowerCase())).remaining).toBe(9);
    expect((await verify(b.replace(/-/g, ""))).remaining).toBe(8);
    expect((await verify(` ${c.replace(/-/g, " ")} `)).remaining).toBe(7);
    const misread = d.replace(/1/g, "l").replace(/0/g, "O");
    expect((await verify(misread)).remaining).toBe(6);
  });

  it("tells the principal to generate new codes when three or fewer remain, and when none do", async () => {
    const { codes } = await generate();
    const notices = [];
    for (const code of codes) notices.push((await verify(code)).notice?.code ?? null);
    expect(notices).toEqual([
      null,
      null,
      null,
      null,
      null,
      null,
      "recovery_codes.running_low",
      "recovery_codes.running_low",
      "recovery_codes.running_low",
      "recovery_codes.exhausted",
    ]);
    expect((await status()).remaining).toBe(0);
  });

  it("refuses malformed and wrong codes with coded errors and counts them", async () => {
    const { codes } = await generate();
    const first = codes[0]!;
    const otherSecret = `${first.slice(0, 5)}${first[5] === "0" ? "1" : "0"}${first.slice(6)}`;
    const results = [];
    for (const code of [
      "",
      "not a code",
      `${first}-AAAA`,
      "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ",
      otherSecret,
      first.replace(/-/g, "").slice(0, 19),
      "ſ".repeat(20),
    ]) {
      results.push(await outcome(verify(code)));
      h.clock.advance(900); // past the principal's backoff, which these failures build up
    }
    expect(results).toEqual([
      "recovery_code.malformed_code",
      "recovery_code.malformed_code",
      "recovery_code.malformed_code",
      "recovery_code.wrong_code",
      "recovery_code.wrong_code",
      "recovery_code.malformed_code",
      "recovery_code.malformed_code",
    ]);
    expect(await status()).toMatchObject({ remaining: 10, failedAttempts: 7 });
    expect((await verify(first)).remaining).toBe(9);
    expect((await status()).failedAttempts).toBe(0);
  });

  it("replaces the earlier set: its unused codes stop working, the new ones work, audited", async () => {
    const first = await generate();
    await verify(first.codes[0]!);
    h.clock.advance(60);
    const second = await generate();
    expect(await outcome(verify(first.codes[1]!))).toBe("recovery_code.wrong_code");
    expect(await outcome(verify(first.codes[0]!))).toBe("recovery_code.wrong_code");
    expect((await verify(second.codes[0]!)).remaining).toBe(9);
    const audit = await h.app.audit.list(h.admin, "acme", { type: "recovery_code.generated" }, {});
    expect(audit.items.map((e) => e.payload)).toEqual([
      { principal: "alice", set: expect.any(String), count: 10 },
      {
        principal: "alice",
        set: expect.any(String),
        count: 10,
        replaced: audit.items[0]?.payload.set,
        unusedReplaced: 9,
        sessionsEnded: 0,
        flowsReset: 0,
        codesWithdrawn: 0,
      },
    ]);
  });

  it("keeps the failure count across a replacement (a new secret does not reset it)", async () => {
    await generate();
    await outcome(verify("ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ"));
    await outcome(verify("ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZY"));
    await generate();
    expect(await status()).toMatchObject({ remaining: 10, failedAttempts: 2 });
  });

  it("revokes the set (administrator), audited; the codes then fail and status shows none", async () => {
    const { codes } = await generate();
    const admin = await h.caller(["tenant_admin"], ["acme"]);
    await h.app.recoveryCodes.revoke(admin, "acme", "alice");
    expect(await outcome(verify(codes[0]!))).toBe("not_found");
    expect(await status()).toEqual({ enrolled: false, total: 0, remaining: 0, failedAttempts: 0 });
    expect(await outcome(h.app.recoveryCodes.revoke(admin, "acme", "alice"))).toBe("not_found");
    const audit = await h.app.audit.list(h.admin, "acme", { type: "recovery_code.revoked" }, {});
    expect(audit.items.map((e) => [e.actor, e.payload])).toEqual([
      [
        admin.id,
        {
          principal: "alice",
          set: expect.any(String),
          remaining: 10,
          failedAttempts: 0,
          locked: false,
          role: "tenant_admin",
          sessionsEnded: 0,
          flowsReset: 0,
          codesWithdrawn: 0,
        },
      ],
    ]);
  });

  it("refuses to issue codes for an unregistered principal or an unknown tenant", async () => {
    expect(await outcome(h.app.recoveryCodes.generate(service, "acme", "mallory"))).toBe(
      "principal.unknown",
    );
    const everywhere = await h.caller(["platform_service"], "all");
    expect(await outcome(h.app.recoveryCodes.generate(everywhere, "nowhere", "alice"))).toBe(
      "not_found",
    );
    expect(await outcome(h.app.recoveryCodes.status(everywhere, "nowhere", "alice"))).toBe(
      "not_found",
    );
    expect(
      await outcome(h.app.recoveryCodes.verify(everywhere, "nowhere", "alice", { code: "x" })),
    ).toBe("not_found");
  });

  it("answers not_found when the principal has no codes, and counts nothing", async () => {
    expect(await outcome(verify("ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ"))).toBe("not_found");
    expect(await status()).toMatchObject({ enrolled: false, failedAttempts: 0 });
  });

  it("keeps principals' and tenants' codes apart", async () => {
    await h.app.tenants.create(h.admin, { id: "globex", name: "Globex" });
    await h.app.principals.upsert(h.admin, "globex", "alice", { population: "direct" });
    await h.app.principals.upsert(h.admin, "acme", "bob", { population: "direct" });
    const globexService = await h.caller(["platform_service"], ["globex"]);
    const { codes } = await generate();
    await h.app.recoveryCodes.generate(globexService, "globex", "alice");
    await h.app.recoveryCodes.generate(service, "acme", "bob");
    expect(
      await outcome(
        h.app.recoveryCodes.verify(globexService, "globex", "alice", { code: codes[0]! }),
      ),
    ).toBe("recovery_code.wrong_code");
    expect(
      await outcome(h.app.recoveryCodes.verify(service, "acme", "bob", { code: codes[0]! })),
    ).toBe("recovery_code.wrong_code");
    expect(
      await outcome(
        h.app.recoveryCodes.verify(globexService, "acme", "alice", { code: codes[0]! }),
      ),
    ).toBe("not_found");
    expect((await verify(codes[0]!)).remaining).toBe(9);
  });

  it("answers recovery_code.not_configured without a hasher", async () => {
    const bare = createApplication({ store: h.store, clock: h.clock, random: h.context.random });
    try {
      expect(await outcome(bare.recoveryCodes.generate(service, "acme", "alice"))).toBe(
        "recovery_code.not_configured",
      );
      expect(await outcome(bare.recoveryCodes.verify(service, "acme", "alice", { code: "" }))).toBe(
        "recovery_code.not_configured",
      );
    } finally {
      await bare.close();
    }
  });
});

describe("recovery codes in decisions (SP 800-63B-4: a look-up secret)", () => {
  let h: Harness;
  let service: Caller;

  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme Corp" });
    await h.app.principals.upsert(h.admin, "acme", "alice", { population: "direct" });
    service = await h.caller(["platform_service"], ["acme"]);
  });
  afterEach(() => h.close());

  const setPolicy = async (acceptedMethods?: ("totp" | "webauthn" | "recovery_code")[]) => {
    const admin = await h.caller(["tenant_admin"], ["acme"]);
    const current = await h.app.policies.current(admin, "acme");
    await h.app.policies.replace(admin, "acme", {
      policy: {
        posture: "platform_mfa",
        ...(acceptedMethods === undefined ? {} : { require: { acceptedMethods } }),
      },
      rationale: "Platform MFA",
      ifMatch: current.record.version,
    });
  };

  const decideWith = async (extra: { method: "recovery_code"; source: "platform"; at: string }) =>
    h.app.decisions.decide(service, "acme", {
      principal: { id: "alice" },
      evidence: {
        events: [
          { method: "password", source: "platform", at: h.clock.now().toISOString() },
          extra,
        ],
      },
    });

  it("allows password + a verified recovery code under platform_mfa (AAL2)", async () => {
    await setPolicy();
    const { codes } = await h.app.recoveryCodes.generate(service, "acme", "alice");
    const { event } = await h.app.recoveryCodes.verify(service, "acme", "alice", {
      code: codes[0]!,
    });
    const decision = await decideWith(event);
    expect(decision.outcome).toBe("allow");
  });

  it("allows it when the tenant lists recovery codes among its accepted methods", async () => {
    await setPolicy(["totp", "recovery_code"]);
    const { codes } = await h.app.recoveryCodes.generate(service, "acme", "alice");
    const { event } = await h.app.recoveryCodes.verify(service, "acme", "alice", {
      code: codes[0]!,
    });
    expect((await decideWith(event)).outcome).toBe("allow");
  });

  it("does not allow it when the tenant accepts only TOTP and WebAuthn", async () => {
    await setPolicy(["totp", "webauthn"]);
    const { codes } = await h.app.recoveryCodes.generate(service, "acme", "alice");
    const { event } = await h.app.recoveryCodes.verify(service, "acme", "alice", {
      code: codes[0]!,
    });
    expect((await decideWith(event)).outcome).not.toBe("allow");
  });

  it("does not allow a recovery code alone (one factor: AAL1)", async () => {
    await setPolicy();
    const { codes } = await h.app.recoveryCodes.generate(service, "acme", "alice");
    const { event } = await h.app.recoveryCodes.verify(service, "acme", "alice", {
      code: codes[0]!,
    });
    const decision = await h.app.decisions.decide(service, "acme", {
      principal: { id: "alice" },
      evidence: { events: [event] },
    });
    expect(decision.outcome).toBe("challenge");
  });
});
