import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAesGcmSealer } from "../../secrets/aes-gcm-sealer.js";
import { createTotpProtocol } from "../../verifiers/totp/index.js";
import { oathtoolCode } from "../../verifiers/totp/test-support/oathtool.js";
import { createApplication } from "../create-application.js";
import { openHarness, type Harness } from "../test-support/harness.js";
import { totpSecretContext } from "./authenticators.js";
import { resealTotpSecrets } from "./reseal-secrets.js";

describe("re-sealing TOTP secrets under a new key", () => {
  const oldKey = { id: "k1", key: randomBytes(32) };
  const newKey = { id: "k2", key: randomBytes(32) };
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness({ federation: { secrets: createAesGcmSealer([oldKey]) } });
  });
  afterEach(() => h.close());

  it("re-seals every tenant's secrets so that the new key alone opens them, audited without secrets", async () => {
    const service = await h.caller(["platform_service"], "all");
    const enrolled: { tenant: string; id: string; secret: string }[] = [];
    for (const tenant of ["acme", "globex", "initech"]) {
      await h.app.tenants.create(h.admin, { id: tenant, name: tenant });
      await h.app.principals.upsert(h.admin, tenant, "alice", { population: "direct" });
      if (tenant === "initech") continue;
      for (let n = 0; n < 2; n += 1) {
        const { authenticator, secret } = await h.app.authenticators.beginTotp(
          service,
          tenant,
          "alice",
          {},
        );
        enrolled.push({ tenant, id: authenticator.id, secret });
      }
    }

    const report = await resealTotpSecrets(
      h.context,
      createAesGcmSealer([newKey, oldKey]),
      "cli:secrets reseal",
    );
    expect(report).toEqual({ tenants: 3, resealed: 4 });

    const onlyNew = createAesGcmSealer([newKey]);
    for (const { tenant, id, secret } of enrolled) {
      const record = await h.store.transaction(({ authenticators }) =>
        authenticators.get(tenant, "alice", id),
      );
      expect(record?.sealedSecret.startsWith("v1.k2.")).toBe(true);
      expect(onlyNew.open(record?.sealedSecret ?? "", totpSecretContext(tenant, "alice", id))).toBe(
        secret,
      );
    }

    // An application holding only the new key confirms with a code from the old secret.
    const rotated = createApplication({
      ...h.context,
      secrets: onlyNew,
      totp: createTotpProtocol(),
    });
    try {
      const [first] = enrolled;
      if (first === undefined) throw new Error("nothing enrolled");
      await expect(
        rotated.authenticators.confirmTotp(service, first.tenant, "alice", first.id, {
          code: oathtoolCode(first.secret, h.clock.now()),
        }),
      ).resolves.toMatchObject({ status: "active" });
    } finally {
      rotated.close();
    }

    const audit = await h.app.audit.list(
      h.admin,
      "acme",
      { type: "authenticator.secrets_resealed" },
      {},
    );
    expect(audit.items.map((e) => [e.actor, e.payload])).toEqual([
      ["cli:secrets reseal", { kind: "totp", count: 2 }],
    ]);
    const initech = await h.app.audit.list(
      h.admin,
      "initech",
      { type: "authenticator.secrets_resealed" },
      {},
    );
    expect(initech.items).toEqual([]);
  });
});
