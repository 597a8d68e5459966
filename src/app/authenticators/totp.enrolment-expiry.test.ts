// Threat: a TOTP enrolment left pending, confirmed long after by whoever kept its secret. Its
// secret is shown when it begins (a QR code photographed, a screenshot kept); beginning needs a
// fresh MFA once the principal holds a method, confirming does not. Alice, holding TOTP A, begins
// B with a fresh MFA and abandons it (a hosted flow begins a new one after each failed
// confirmation, too); weeks later, whoever has her password and B's secret confirmed B and held a
// working second factor. A pending enrolment is now confirmed only within
// `totp.enrolmentTtlSeconds` (10 minutes by default) of its beginning: later the confirmation is
// refused, counting nothing, and the enrolment removed and audited; beginning another removes the
// principal's expired ones, and the list no longer shows them.
import { afterEach, beforeEach, expect, it } from "vitest";
import { oathtoolCode } from "../../verifiers/totp/test-support/oathtool.js";
import type { Caller } from "../application.js";
import { DEFAULT_SETTINGS, type AppSettings } from "../context.js";
import { describeOnEachStore } from "../test-support/each-store.js";
import { provedMfaJustNow } from "../test-support/fresh-mfa.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import { enrolTotp, outcomeOf } from "../test-support/totp-principals.js";

const TTL = 600;

describeOnEachStore("a pending TOTP enrolment", (open) => {
  let h: Harness;
  let service: Caller;

  async function openWith(settings?: AppSettings) {
    h = await openHarness({ url: await open(), ...(settings === undefined ? {} : { settings }) });
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
    service = await h.caller(["platform_service"], ["acme"]);
    for (const id of ["alice", "bob"]) {
      await h.app.principals.upsert(h.admin, "acme", id, { population: "direct" });
    }
  }
  beforeEach(() => openWith());
  afterEach(() => h.close());

  const begin = async (principal = "alice") => {
    const begun = await h.app.authenticators.beginTotp(service, "acme", principal, {});
    return { id: begun.authenticator.id, secret: begun.secret, view: begun.authenticator };
  };
  const confirm = (pending: { id: string; secret: string }, principal = "alice") =>
    outcomeOf(
      h.app.authenticators.confirmTotp(service, "acme", principal, pending.id, {
        code: oathtoolCode(pending.secret, h.clock.now()),
      }),
    );
  const listed = async (principal = "alice") =>
    (await h.app.authenticators.list(service, "acme", principal)).map((a) => [a.id, a.status]);
  const audit = async () => (await h.app.audit.list(h.admin, "acme", {}, { limit: 500 })).items;
  const expiredEvents = async () =>
    (await audit()).filter((e) => e.type === "authenticator.enrolment_expired");

  it("is refused once its time has passed, removed and audited, counting nothing", async () => {
    const a = await enrolTotp(h, service, "acme", "alice");
    await provedMfaJustNow(h, "acme", "alice");
    const b = await begin();
    const begunAt = h.clock.now();
    const expiresAt = new Date(begunAt.getTime() + TTL * 1000).toISOString();
    expect(b.view.expiresAt).toBe(expiresAt);
    // Weeks later, with the password and B's secret.
    h.clock.advance(21 * 86_400);
    expect(await confirm(b)).toEqual({
      code: "authenticator.enrolment_expired",
      details: { expiresAt },
    });
    expect(await listed()).toEqual([[a.id, "active"]]);
    const events = await audit();
    expect(await expiredEvents()).toMatchObject([
      {
        actor: service.id,
        payload: {
          principal: "alice",
          authenticator: b.id,
          kind: "totp",
          createdAt: begunAt.toISOString(),
          expiresAt,
        },
      },
    ]);
    expect(JSON.stringify(events)).not.toContain(b.secret);
    // Refused before the code is looked at: no failure counted, nothing confirmed.
    const types = events.map((e) => e.type);
    expect(types).not.toContain("authenticator.verification_failed");
    expect(types.filter((t) => t === "authenticator.confirmed")).toHaveLength(1);
    // It is gone: another try finds nothing.
    expect(await confirm(b)).toEqual({ code: "not_found" });
  });

  it.each([
    [TTL - 1, "accepted"],
    [TTL, "authenticator.enrolment_expired"],
  ])("confirmed %i seconds after it began: %s", async (after, code) => {
    const pending = await begin();
    h.clock.advance(after);
    expect(await confirm(pending)).toMatchObject({ code });
    expect(await listed()).toEqual(code === "accepted" ? [[pending.id, "active"]] : []);
  });

  it("expires after the configured time", async () => {
    await h.close();
    await openWith({ ...DEFAULT_SETTINGS, totp: { enrolmentTtlSeconds: 120 } });
    const pending = await begin();
    expect(pending.view.expiresAt).toBe(new Date(h.clock.now().getTime() + 120_000).toISOString());
    h.clock.advance(120);
    expect(await confirm(pending)).toMatchObject({ code: "authenticator.enrolment_expired" });
  });

  it("is left out of the list once expired; an active authenticator shows no expiry", async () => {
    const pending = await begin();
    const [shown] = await h.app.authenticators.list(service, "acme", "alice");
    expect(shown).toMatchObject({
      id: pending.id,
      status: "pending",
      expiresAt: pending.view.expiresAt,
    });
    h.clock.advance(TTL);
    expect(await listed()).toEqual([]);
    // Not removed by listing: the next enrolment begun, or a confirmation tried, removes it.
    expect(await expiredEvents()).toEqual([]);
    const bob = await begin("bob");
    expect(await confirm(bob, "bob")).toEqual({ code: "accepted" });
    const [active] = await h.app.authenticators.list(service, "acme", "bob");
    expect(active).not.toHaveProperty("expiresAt");
  });

  it("is removed when the principal begins another, and only once expired", async () => {
    const first = await begin();
    h.clock.advance(300);
    const second = await begin();
    const bobs = await begin("bob");
    h.clock.advance(TTL - 300);
    // The first has expired, the second not; bob's is bob's.
    const third = await begin();
    const rows = await h.store.read((r) => r.authenticators.listTenant("acme"));
    expect(rows.map((row) => [row.principal, row.id])).toEqual([
      ["alice", second.id],
      ["alice", third.id],
      ["bob", bobs.id],
    ]);
    expect((await expiredEvents()).map((e) => e.payload["authenticator"])).toEqual([first.id]);
    expect(await confirm(second)).toEqual({ code: "accepted" });
  });
});
