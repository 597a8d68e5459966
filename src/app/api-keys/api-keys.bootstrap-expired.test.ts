// Contract (README, CLI): `bootstrap` refuses while an *active* platform administrator key
// exists. A platform administrator key that has expired authenticates nobody: a store whose only
// such keys are expired or revoked has no administrator, and bootstrap must make one without
// `--force` (which would also have made a second administrator beside an active one).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { bootstrapPlatformAdmin } from "./api-keys.js";
import { openHarness, type Harness } from "../test-support/harness.js";

describe("bootstrap after every platform administrator key has expired", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await openHarness();
  });
  afterEach(() => h.close());

  it("makes a new administrator key when the only ones left have expired", async () => {
    const expiresAt = new Date(h.clock.now().getTime() + 60_000).toISOString();
    const { secret } = await h.app.apiKeys.create(h.admin, {
      name: "temporary admin",
      roles: ["platform_admin"],
      tenants: "all",
      expiresAt,
    });
    await h.app.apiKeys.revoke(h.admin, h.admin.id);
    h.clock.advance(60);
    await expect(h.app.authenticate(secret)).rejects.toMatchObject({
      code: "auth.invalid_credentials",
    });
    const made = await bootstrapPlatformAdmin(h.context, { name: "recovered admin" });
    await expect(h.app.authenticate(made.secret)).resolves.toMatchObject({
      roles: ["platform_admin"],
    });
  });

  it("still refuses while an administrator key has not expired yet", async () => {
    const expiresAt = new Date(h.clock.now().getTime() + 60_000).toISOString();
    await h.app.apiKeys.create(h.admin, {
      name: "temporary admin",
      roles: ["platform_admin"],
      tenants: "all",
      expiresAt,
    });
    await h.app.apiKeys.revoke(h.admin, h.admin.id);
    h.clock.advance(59.999);
    await expect(bootstrapPlatformAdmin(h.context, { name: "second admin" })).rejects.toMatchObject(
      { code: "bootstrap.exists" },
    );
  });
});
