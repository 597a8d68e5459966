// Threat: the authentication cache keeps a revoked or expired API key working. A revocation must
// bind the instance that made it on its very next request, an expiry must hold to the
// millisecond, and a revocation whose change notice never arrives (another process wrote the
// row) must bind within the cache's one second.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openHarness, type Harness } from "../test-support/harness.js";

describe("API key revocation and expiry through the authentication cache", () => {
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

  it("refuses a revoked key on the very next request, though it was just authenticated", async () => {
    const { key, secret } = await issue();
    await expect(h.app.authenticate(secret)).resolves.toMatchObject({ id: key.id });
    await h.app.apiKeys.revoke(h.admin, key.id);
    await expect(h.app.authenticate(secret)).rejects.toMatchObject({
      code: "auth.invalid_credentials",
    });
  });

  it("refuses a cached key from the instant it expires", async () => {
    const expiresAt = new Date(h.clock.now().getTime() + 500).toISOString();
    const { secret } = await issue(expiresAt);
    await expect(h.app.authenticate(secret)).resolves.toBeDefined();
    h.clock.advance(0.5);
    await expect(h.app.authenticate(secret)).rejects.toMatchObject({
      code: "auth.invalid_credentials",
    });
  });

  it("reads a key again after a second, so a revocation without a notice binds within it", async () => {
    const { key, secret } = await issue();
    await expect(h.app.authenticate(secret)).resolves.toBeDefined();
    // Written straight to the store, as another process would: no change notice.
    await h.store.transaction(({ apiKeys }) => apiKeys.revoke(key.id, h.clock.now().toISOString()));
    h.clock.advance(0.999);
    await expect(h.app.authenticate(secret)).resolves.toBeDefined();
    h.clock.advance(0.001);
    await expect(h.app.authenticate(secret)).rejects.toMatchObject({
      code: "auth.invalid_credentials",
    });
  });

  it("keeps no unknown secret, so a key works as soon as it is created", async () => {
    await expect(h.app.authenticate("tmfa_not-a-key")).rejects.toMatchObject({
      code: "auth.invalid_credentials",
    });
    const { secret } = await issue();
    await expect(h.app.authenticate(secret)).resolves.toBeDefined();
  });

  it("records the revocation in the platform audit chain", async () => {
    const { key } = await issue();
    await h.app.apiKeys.revoke(h.admin, key.id);
    const verification = await h.app.audit.verify(h.admin, {});
    expect(verification).toMatchObject({ ok: true });
  });
});
