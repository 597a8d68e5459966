import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { oathtoolCode } from "../../verifiers/totp/test-support/oathtool.js";
import type { Caller } from "../application.js";
import type { AuditEvent } from "../records.js";
import { createApplication } from "../create-application.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import { totpSecretContext } from "./authenticators.js";
import { refusalCode } from "../test-support/refusal-code.js";

const code = refusalCode;

describe("TOTP enrolment and management", () => {
  let h: Harness;
  let service: Caller;

  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme Corp" });
    await h.app.principals.upsert(h.admin, "acme", "alice", {
      population: "direct",
      displayName: "alice@acme.example",
    });
    service = await h.caller(["platform_service"], ["acme"]);
  });
  afterEach(() => h.close());

  it("begins an enrolment: a pending authenticator, a 160-bit secret, its key URI and QR code", async () => {
    const enrolment = await h.app.authenticators.beginTotp(service, "acme", "alice", {
      name: "phone",
    });
    expect(enrolment.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(enrolment.uri).toBe(
      `otpauth://totp/Acme%20Corp:alice%40acme.example?issuer=Acme%20Corp&secret=${enrolment.secret}&algorithm=SHA1&digits=6&period=30`,
    );
    expect(enrolment.qrSvg).toMatch(/^<svg /);
    expect(enrolment.authenticator).toEqual({
      tenant: "acme",
      principal: "alice",
      id: enrolment.authenticator.id,
      kind: "totp",
      name: "phone",
      status: "pending",
      totp: { algorithm: "SHA1", digits: 6, period: 30 },
      failedAttempts: 0,
      createdAt: h.clock.now().toISOString(),
      // Confirmable for ten minutes (totp.enrolment-expiry.test.ts).
      expiresAt: new Date(h.clock.now().getTime() + 600_000).toISOString(),
    });
  });

  it("stores the secret sealed, bound to this authenticator", async () => {
    const { secret, authenticator } = await h.app.authenticators.beginTotp(
      service,
      "acme",
      "alice",
      {},
    );
    const stored = await h.store.transaction(({ authenticators }) =>
      authenticators.get("acme", "alice", authenticator.id),
    );
    expect(stored?.sealedSecret).toBeDefined();
    expect(stored?.sealedSecret).not.toContain(secret);
    const sealer = h.sealer;
    expect(
      sealer.open(stored?.sealedSecret ?? "", totpSecretContext("acme", "alice", authenticator.id)),
    ).toBe(secret);
    expect(() =>
      sealer.open(stored?.sealedSecret ?? "", totpSecretContext("acme", "bob", authenticator.id)),
    ).toThrow();
  });

  it("counts a TOTP authenticator only once confirmed with a first valid code from oathtool", async () => {
    const { secret, authenticator } = await h.app.authenticators.beginTotp(
      service,
      "acme",
      "alice",
      { algorithm: "SHA256", digits: 8 },
    );
    const { id } = authenticator;
    const params = { algorithm: "SHA256", digits: 8, period: 30 } as const;
    expect(
      await code(
        h.app.authenticators.verifyTotp(service, "acme", "alice", id, {
          code: oathtoolCode(secret, h.clock.now(), params),
        }),
      ),
    ).toBe("authenticator.invalid_state");
    const confirmed = await h.app.authenticators.confirmTotp(service, "acme", "alice", id, {
      code: oathtoolCode(secret, h.clock.now(), params),
    });
    expect(confirmed).toMatchObject({
      status: "active",
      confirmedAt: h.clock.now().toISOString(),
      totp: params,
    });
    expect(
      await code(
        h.app.authenticators.confirmTotp(service, "acme", "alice", id, {
          code: oathtoolCode(secret, h.clock.now(), params),
        }),
      ),
    ).toBe("authenticator.invalid_state");
    h.clock.advance(30);
    const verified = await h.app.authenticators.verifyTotp(service, "acme", "alice", id, {
      code: oathtoolCode(secret, h.clock.now(), params),
    });
    expect(verified.event).toEqual({
      method: "totp",
      source: "platform",
      at: h.clock.now().toISOString(),
      // The audit event that recorded the verification: the decision API checks against it.
      verification: expect.stringMatching(/^evt_/),
    });
    expect(verified.authenticator.lastUsedAt).toBe(h.clock.now().toISOString());
  });

  it("refuses a wrong confirmation code, and counts it", async () => {
    const { authenticator } = await h.app.authenticators.beginTotp(service, "acme", "alice", {});
    const { id } = authenticator;
    expect(
      await code(h.app.authenticators.confirmTotp(service, "acme", "alice", id, { code: "12ab" })),
    ).toBe("totp.malformed_code");
    const [listed] = await h.app.authenticators.list(service, "acme", "alice");
    expect(listed).toMatchObject({ status: "pending", failedAttempts: 1 });
  });

  it("lists without secrets, and removes with an audit event", async () => {
    const { secret, authenticator } = await h.app.authenticators.beginTotp(
      service,
      "acme",
      "alice",
      {},
    );
    const admin = await h.caller(["tenant_admin"], ["acme"]);
    const listed = await h.app.authenticators.list(admin, "acme", "alice");
    expect(listed.map((a) => a.id)).toEqual([authenticator.id]);
    expect(JSON.stringify(listed)).not.toMatch(/sealed|secret|lastStep/i);
    expect(JSON.stringify(listed)).not.toContain(secret);
    await h.app.authenticators.remove(admin, "acme", "alice", authenticator.id);
    expect(await h.app.authenticators.list(admin, "acme", "alice")).toEqual([]);
    expect(await code(h.app.authenticators.remove(admin, "acme", "alice", authenticator.id))).toBe(
      "not_found",
    );
    const audit = await h.app.audit.list(h.admin, "acme", { type: "authenticator.removed" }, {});
    expect(audit.items.map((e) => [e.actor, e.payload])).toEqual([
      [
        admin.id,
        {
          principal: "alice",
          authenticator: authenticator.id,
          kind: "totp",
          status: "pending",
          role: "tenant_admin",
          sessionsEnded: 0,
          flowsReset: 0,
          codesWithdrawn: 0,
        },
      ],
    ]);
  });

  it("audits every change without a secret or a code anywhere in its events", async () => {
    // MFA optional, so that the last method may go (removal-rules: last method).
    await h.app.policies.replace(h.admin, "acme", {
      policy: { posture: "mfa_optional" },
      rationale: "Removing the only authenticator is allowed",
      ifMatch: 1,
    });
    const { secret, authenticator } = await h.app.authenticators.beginTotp(
      service,
      "acme",
      "alice",
      {},
    );
    const { id } = authenticator;
    const first = oathtoolCode(secret, h.clock.now());
    await code(h.app.authenticators.confirmTotp(service, "acme", "alice", id, { code: "000000" }));
    await h.app.authenticators.confirmTotp(service, "acme", "alice", id, { code: first });
    await code(h.app.authenticators.verifyTotp(service, "acme", "alice", id, { code: first }));
    h.clock.advance(30);
    const second = oathtoolCode(secret, h.clock.now());
    await h.app.authenticators.verifyTotp(service, "acme", "alice", id, { code: second });
    await h.app.authenticators.remove(service, "acme", "alice", id);
    const audit = await h.app.audit.list(h.admin, "acme", {}, { limit: 100 });
    const types = audit.items.map((e) => e.type).filter((t) => t.startsWith("authenticator."));
    expect(types).toEqual([
      "authenticator.enrolment_started",
      "authenticator.verification_failed",
      "authenticator.confirmed",
      "authenticator.verification_failed",
      "authenticator.verified",
      "authenticator.removed",
    ]);
    // Searched as substrings of whole events, so that a code or the secret inside a longer
    // string ("refused 123456", "seed=…") is found too, in any field.
    const text = searchableText(audit.items);
    for (const value of [first, second, "000000", ...secretForms(secret)]) {
      expect(text).not.toContain(value);
    }
    expect(JSON.stringify(audit.items.map((e) => e.payload))).not.toMatch(/sealed|"code"/i);
    expect(await h.app.audit.verify(h.admin, { tenant: "acme" })).toMatchObject({ ok: true });
  });

  it("refuses to enrol a principal the tenant has not registered, or a bad name", async () => {
    expect(await code(h.app.authenticators.beginTotp(service, "acme", "mallory", {}))).toBe(
      "principal.unknown",
    );
    expect(
      await code(h.app.authenticators.beginTotp(service, "acme", "alice", { name: "a\u0000b" })),
    ).toBe("authenticator.invalid");
    expect(await h.app.authenticators.list(service, "acme", "alice")).toEqual([]);
  });

  it("keeps principals' and tenants' authenticators apart", async () => {
    await h.app.tenants.create(h.admin, { id: "globex", name: "Globex" });
    await h.app.principals.upsert(h.admin, "globex", "alice", { population: "direct" });
    const { authenticator } = await h.app.authenticators.beginTotp(service, "acme", "alice", {});
    const globexService = await h.caller(["platform_service"], ["globex"]);
    expect(await h.app.authenticators.list(globexService, "globex", "alice")).toEqual([]);
    expect(await h.app.authenticators.list(service, "acme", "bob")).toEqual([]);
    expect(
      await code(h.app.authenticators.remove(globexService, "globex", "alice", authenticator.id)),
    ).toBe("not_found");
    expect(await code(h.app.authenticators.list(globexService, "acme", "alice"))).toBe("not_found");
  });

  it("answers authenticator.not_configured without a sealer or a TOTP verifier", async () => {
    const bare = createApplication({ store: h.store, clock: h.clock, random: h.context.random });
    try {
      expect(await code(bare.authenticators.beginTotp(service, "acme", "alice", {}))).toBe(
        "authenticator.not_configured",
      );
    } finally {
      await bare.close();
    }
  });
});

/**
 * The JSON of audit events, to search for secrets and codes. Two kinds of value are left out,
 * since they contain 6-digit runs by construction and could match a code by chance: the chain
 * hashes (64 hex digits, checked to be nothing else; the first `prevHash` is all zeros) and the
 * harness's counting ids (`evt_000012`, `auth_000005`), as whole string values only.
 */
function searchableText(events: readonly AuditEvent[]): string {
  return events
    .map(({ hash, prevHash, ...rest }) => {
      expect(hash).toMatch(/^[0-9a-f]{64}$/);
      expect(prevHash).toMatch(/^[0-9a-f]{64}$/);
      return JSON.stringify(rest).replace(/"[a-z]+_\d{6}"/g, '"<id>"');
    })
    .join("\n");
}

/** A base32 TOTP secret as itself, in lower case, and its bytes in hex and base64(url). */
function secretForms(base32: string): string[] {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const bytes: number[] = [];
  let value = 0;
  let bits = 0;
  for (const char of base32) {
    value = ((value << 5) | alphabet.indexOf(char)) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >> bits) & 0xff);
    }
  }
  const raw = Buffer.from(bytes);
  expect(raw).toHaveLength(20);
  return [
    base32,
    base32.toLowerCase(),
    raw.toString("hex"),
    raw.toString("base64").replace(/=+$/, ""),
    raw.toString("base64url"),
  ];
}
