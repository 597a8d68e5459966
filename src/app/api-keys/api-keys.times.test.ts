// Contract: times are ISO 8601 UTC everywhere in the API and the audit log (DESIGN), and an
// auditor must see a key's lifetime. A key's expiry sent with an offset is answered, stored and
// audited as the same instant in `toISOString()` form; `api_key.created` carries it.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chainOf } from "../audit/audit-chain.js";
import { openHarness, type Harness } from "../test-support/harness.js";

describe("an API key's expiry in UTC, answered, stored and audited", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await openHarness();
  });
  afterEach(() => h.close());

  const issue = (expiresAt?: string) =>
    h.app.apiKeys.create(h.admin, {
      name: "platform backend",
      roles: ["platform_service"],
      tenants: "all",
      ...(expiresAt === undefined ? {} : { expiresAt }),
    });

  const createdEvent = async (id: string) => {
    const events = await h.store.read(({ audit }) =>
      audit.read(chainOf(null), { afterSeq: 0, limit: 100 }),
    );
    return events.find((e) => e.type === "api_key.created" && e.payload["id"] === id);
  };

  it("answers, stores and audits an offset expiresAt as the UTC instant", async () => {
    const utc = "2026-12-06T08:00:00.000Z";
    const { key } = await issue("2026-12-06T10:00:00+02:00");
    expect(key.expiresAt).toBe(utc);
    const stored = (await h.app.apiKeys.list(h.admin)).find((k) => k.id === key.id);
    expect(stored?.expiresAt).toBe(utc);
    expect((await createdEvent(key.id))?.payload).toMatchObject({ id: key.id, expiresAt: utc });
  });

  it("records a key's expiry in api_key.created, and none for a key that never expires", async () => {
    const expiring = await issue("2027-01-01T00:00:00.000Z");
    expect((await createdEvent(expiring.key.id))?.payload).toMatchObject({
      expiresAt: "2027-01-01T00:00:00.000Z",
    });
    const lasting = await issue();
    expect(lasting.key).not.toHaveProperty("expiresAt");
    const event = await createdEvent(lasting.key.id);
    expect(event?.payload).toMatchObject({ id: lasting.key.id, name: "platform backend" });
    expect(event?.payload).not.toHaveProperty("expiresAt");
  });
});
