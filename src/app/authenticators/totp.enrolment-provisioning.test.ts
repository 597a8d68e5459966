// Threat: an enrolment stored but never shown. Beginning a TOTP enrolment stores a pending
// authenticator and its audit event, then gives the principal its key URI and QR code; when the
// QR code could not be made (names too long for one) the enrolment answered 500 and left the
// pending authenticator and `authenticator.enrolment_started` behind, a secret nobody holds.
// The key URI and QR code are made before the transaction: if they cannot be, nothing commits.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTotpProtocol } from "../../verifiers/totp/index.js";
import type { Caller } from "../application.js";
import { CountingRandom, openHarness, type Harness } from "../test-support/harness.js";

let h: Harness;
let service: Caller;
beforeEach(async () => {
  h = await openHarness();
  await h.app.tenants.create(h.admin, { id: "acme", name: "株".repeat(200) });
  await h.app.principals.upsert(h.admin, "acme", "yamada", {
    population: "direct",
    displayName: "山".repeat(500),
  });
  service = await h.caller(["platform_service"], ["acme"]);
});
afterEach(() => h.close());

const enrolmentEvents = async () =>
  (await h.app.audit.list(h.admin, "acme", {}, { limit: 500 })).items.filter(
    (e) => e.type === "authenticator.enrolment_started",
  );

describe("beginning a TOTP enrolment", () => {
  it("gives a QR code for the longest names the API takes, in wide characters", async () => {
    const begun = await h.app.authenticators.beginTotp(service, "acme", "yamada", {});
    expect(begun.qrSvg).toMatch(/^<svg/);
    expect(decodeURIComponent(begun.uri)).toContain("株".repeat(39) + "…");
    expect(await h.app.authenticators.list(service, "acme", "yamada")).toHaveLength(1);
  });

  it("commits nothing when the key URI or QR code cannot be made", async () => {
    const real = createTotpProtocol();
    const app = h.application({
      store: h.store,
      random: new CountingRandom(1_000_000),
      totp: {
        ...real,
        provisioning: () => Promise.reject(new Error("The QR code cannot hold this.")),
      },
    });
    try {
      await expect(app.authenticators.beginTotp(service, "acme", "yamada", {})).rejects.toThrow(
        "The QR code cannot hold this.",
      );
    } finally {
      await app.close();
    }
    expect(await h.app.authenticators.list(service, "acme", "yamada")).toEqual([]);
    expect(await enrolmentEvents()).toEqual([]);
  });
});
