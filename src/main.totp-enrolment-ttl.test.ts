// Threat: a configured bound that never reaches the application. `totp.enrolmentTtlSeconds`
// limits how long a TOTP enrolment, its secret shown, may wait for its first code: the
// application this package opens must apply the configured value, not the default.
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS } from "./app/context.js";
import { openApplication, type OpenedApplication } from "./main.js";

describe("the TOTP enrolment time this server applies", () => {
  let opened: OpenedApplication | undefined;
  afterEach(async () => {
    await opened?.close();
  });

  /** How many seconds a TOTP enrolment begun now may be confirmed for. */
  async function enrolmentSeconds(enrolmentTtlSeconds?: number): Promise<number> {
    opened = await openApplication({
      db: "sqlite::memory:",
      exemptions: DEFAULT_SETTINGS.exemptions,
      ...(enrolmentTtlSeconds === undefined ? {} : { totp: { enrolmentTtlSeconds } }),
    });
    const { app } = opened;
    const admin = await app.authenticate((await opened.bootstrap({ name: "ops" })).secret);
    await app.tenants.create(admin, { id: "acme", name: "Acme" });
    await app.principals.upsert(admin, "acme", "alice", { population: "direct" });
    const service = await app.authenticate(
      (
        await app.apiKeys.create(admin, {
          name: "backend",
          roles: ["platform_service"],
          tenants: ["acme"],
        })
      ).secret,
    );
    const { authenticator } = await app.authenticators.beginTotp(service, "acme", "alice", {});
    return (
      (Date.parse(String(authenticator.expiresAt)) - Date.parse(authenticator.createdAt)) / 1000
    );
  }

  it("is the configured one", async () => {
    expect(await enrolmentSeconds(120)).toBe(120);
  });

  it("is ten minutes by default", async () => {
    expect(await enrolmentSeconds()).toBe(600);
  });
});
