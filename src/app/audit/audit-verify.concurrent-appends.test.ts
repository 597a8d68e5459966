// Threat to the evidence itself: `audit verify` on a live server. Every decision and change
// appends to a chain; verify reads the events in batches, then reads the recorded head in a
// separate transaction. An event appended in between makes the head run ahead of what was read,
// and an untouched chain is reported "truncated" (tampering) — a false alarm an auditor cannot
// tell from a real one, and one that a busy decision API makes routine.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openHarness, type Harness } from "../test-support/harness.js";

describe("audit verify while the service keeps writing", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await openHarness();
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
    await h.app.principals.upsert(h.admin, "acme", "alice", { population: "direct" });
  });
  afterEach(() => h.close());

  it("does not report an untouched chain as truncated when an event is appended during verification", async () => {
    let write: Promise<unknown> | undefined;
    const result = await h.app.audit.verify(h.admin, { tenant: "acme" }, () => {
      // A concurrent request, as any sign-in decision or administration would be.
      write ??= h.app.principals.upsert(h.admin, "acme", "bob", { population: "direct" });
    });
    await write;
    expect(result).toMatchObject({ ok: true });
    // The chain is indeed intact.
    expect(await h.app.audit.verify(h.admin, { tenant: "acme" })).toMatchObject({
      ok: true,
      events: 3,
    });
  });
});
