// Threat: a key rotation that meets a sealed value it cannot open (its ciphertext altered in the
// database, or sealed under a key no longer configured). `secrets reseal` stopped at the first
// such value with `secret.unavailable`: the tenants before it re-sealed, those after it not, and
// nothing said which value was at fault, so an operator could neither finish the rotation away
// from a (perhaps compromised) key nor know what to replace. It must re-seal every value it can
// open, leave each one it cannot exactly as it was (nothing lost that a restored key could still
// open), and list each of those by kind and id, never by value.
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAesGcmSealer } from "../../secrets/aes-gcm-sealer.js";
import { storePendingOidcSignIn } from "../../secrets/test-support/sealed-values.js";
import { privateKeyContext } from "../assurance/signing-keys.js";
import { totpSecretContext } from "../authenticators/authenticators.js";
import { clientSecretContext, codeVerifierContext } from "../federation/endpoints.js";
import { sha256 } from "../flows/flow-records.js";
import type { Caller } from "../application.js";
import type { Harness } from "../test-support/harness.js";
import { describeOnPostgres } from "../test-support/postgres-instances.js";
import {
  openPostgresWorld,
  openSqliteWorld,
  alteredCiphertext as altered,
  type TamperedWorld,
  type WorldOptions,
} from "../test-support/tampered-world.js";
import { resealSecrets } from "./reseal-secrets.js";

const oldKey = { id: "k1", key: randomBytes(32) };
const newKey = { id: "k2", key: randomBytes(32) };
const CLIENT_SECRET = "a-very-secret-client-secret";

const unopenableTests = (open: (options: WorldOptions) => Promise<TamperedWorld>) => () => {
  let world: TamperedWorld | undefined;
  let h: Harness;
  let service: Caller;
  /** The TOTP authenticators enrolled, and their secrets. */
  const totp: { tenant: string; principal: string; id: string; secret: string }[] = [];

  beforeEach(async () => {
    totp.length = 0;
    world = await open({ federation: { secrets: createAesGcmSealer([oldKey]) } });
    ({ h } = world);
    service = await h.caller(["platform_service"], "all");
    for (const tenant of ["acme", "globex", "initech"]) {
      await h.app.tenants.create(h.admin, { id: tenant, name: tenant });
      await h.app.principals.upsert(h.admin, tenant, "alice", { population: "direct" });
      const { authenticator, secret } = await h.app.authenticators.beginTotp(
        service,
        tenant,
        "alice",
        {},
      );
      totp.push({ tenant, principal: "alice", id: authenticator.id, secret });
      await h.app.idps.put(h.admin, tenant, "corp", {
        registration: {
          protocol: "oidc",
          oidc: {
            issuer: `https://${tenant}.idp.example`,
            clientId: "tenant-mfa",
            clientSecret: CLIENT_SECRET,
          },
        },
        ifMatch: undefined,
      });
    }
    // The first signing key, then its successor.
    await h.app.assurance.jwks();
    await h.app.assurance.rotateSigningKey(h.admin, {});
    const now = h.clock.now().getTime();
    await storePendingOidcSignIn(h, h.sealer, "fed_kept", now);
    await storePendingOidcSignIn(h, h.sealer, "fed_altered", now);
  });
  afterEach(async () => {
    await world?.close();
  });

  const tamper = (statements: readonly string[]) => {
    if (world === undefined) throw new Error("not set up");
    return world.tamper(statements);
  };
  const totpOf = (tenant: string) => {
    const found = totp.find((enrolled) => enrolled.tenant === tenant);
    if (found === undefined) throw new Error(`nothing enrolled in ${tenant}`);
    return found;
  };
  /** Every sealed value the store holds, by where it is. */
  const sealedValues = async (): Promise<Map<string, string>> => {
    const values = new Map<string, string>();
    await h.store.read(async (r) => {
      for (const tenant of ["acme", "globex", "initech"]) {
        for (const record of await r.authenticators.listTenant(tenant)) {
          values.set(`totp ${tenant} ${record.id}`, record.sealedSecret);
        }
        for (const idp of await r.idps.list(tenant)) {
          if (idp.protocol === "oidc") values.set(`idp ${tenant}`, idp.oidc.sealedClientSecret);
        }
      }
      for (const key of await r.signingKeys.list()) {
        values.set(`key ${key.kid}`, key.sealedPrivateJwk ?? "");
      }
      for (const id of ["fed_kept", "fed_altered"]) {
        values.set(`pkce ${id}`, (await r.federationRequests.get(id))?.sealedCodeVerifier ?? "");
      }
    });
    return values;
  };
  const resealWithNewKey = () =>
    resealSecrets(h.context, createAesGcmSealer([newKey, oldKey]), "cli:secrets reseal");

  it("re-seals every value it can open, leaves each one it cannot as it was, and names each by kind and id", async () => {
    const keys = await h.store.read((r) => r.signingKeys.list());
    const alteredKey = keys[0]?.kid ?? "";
    const globex = totpOf("globex");
    await tamper([
      `UPDATE authenticators SET sealed_secret = ${altered("sealed_secret")} WHERE tenant = 'globex'`,
      // The IdP's record is a JSON document: one character of its client secret's IV changed.
      `UPDATE idps SET document = replace(document, '"sealedClientSecret":"v1.k1.', '"sealedClientSecret":"v1.k1.A') WHERE tenant = 'acme'`,
      `UPDATE signing_keys SET sealed_private_jwk = ${altered("sealed_private_jwk")} WHERE kid = '${alteredKey}'`,
      `UPDATE federation_requests SET document = replace(document, '"sealedCodeVerifier":"v1.k1.', '"sealedCodeVerifier":"v1.k1.A') WHERE id = 'fed_altered'`,
    ]);
    const before = await sealedValues();

    const report = await resealWithNewKey();

    expect(report).toEqual({
      tenants: 3,
      totpSecrets: 2,
      idpClientSecrets: 2,
      pkceVerifiers: 1,
      signingKeys: 1,
      unopened: [
        { kind: "idp_client_secret", tenant: "acme", id: "corp" },
        { kind: "totp_secret", tenant: "globex", principal: "alice", id: globex.id },
        {
          kind: "pkce_verifier",
          tenant: "acme",
          // Its id is the sign-in's OIDC state: named by its SHA-256, never as it is.
          id: sha256("fed_altered"),
          expiresAt: new Date(h.clock.now().getTime() + 600_000).toISOString(),
        },
        { kind: "signing_key", id: alteredKey },
      ],
    });
    // Named, never shown.
    const shown = JSON.stringify(report);
    expect(shown).not.toContain("fed_altered");
    for (const { secret } of totp) expect(shown).not.toContain(secret);
    expect(shown).not.toContain(CLIENT_SECRET);
    expect(shown).not.toContain("a-pkce-code-verifier");

    // Those it could not open are exactly as they were; every other opens with the new key alone.
    const after = await sealedValues();
    const unopened = [
      `totp globex ${globex.id}`,
      "idp acme",
      `key ${alteredKey}`,
      "pkce fed_altered",
    ];
    for (const where of unopened) expect(after.get(where), where).toBe(before.get(where));
    const onlyNew = createAesGcmSealer([newKey]);
    for (const tenant of ["acme", "initech"]) {
      const { id, secret } = totpOf(tenant);
      expect(
        onlyNew.open(
          after.get(`totp ${tenant} ${id}`) ?? "",
          totpSecretContext(tenant, "alice", id),
        ),
      ).toBe(secret);
    }
    for (const tenant of ["globex", "initech"]) {
      expect(
        onlyNew.open(after.get(`idp ${tenant}`) ?? "", clientSecretContext(tenant, "corp")),
      ).toBe(CLIENT_SECRET);
    }
    const kept = keys[1]?.kid ?? "";
    expect(
      JSON.parse(onlyNew.open(after.get(`key ${kept}`) ?? "", privateKeyContext(kept))),
    ).toMatchObject({ kty: keys[1]?.publicJwk.kty });
    expect(onlyNew.open(after.get("pkce fed_kept") ?? "", codeVerifierContext("fed_kept"))).toBe(
      "a-pkce-code-verifier",
    );

    // What was re-sealed is audited as before, the chains intact.
    const acme = await h.app.audit.list(h.admin, "acme", { type: "secrets.resealed" }, {});
    expect(acme.items.map((e) => e.payload)).toEqual([
      { kind: "totp", count: 1 },
      { kind: "pkce_verifier", count: 1 },
    ]);
    // What it could not open is audited too, once, in the platform chain: by kind and id.
    const incomplete = await h.app.audit.list(
      h.admin,
      null,
      { type: "secrets.reseal_incomplete" },
      {},
    );
    expect(incomplete.items.map((e) => [e.actor, e.payload])).toEqual([
      ["cli:secrets reseal", { count: 4, unopened: report.unopened }],
    ]);
    const audited = JSON.stringify(incomplete.items);
    for (const { secret } of totp) expect(audited).not.toContain(secret);
    expect(audited).not.toContain(CLIENT_SECRET);
    expect(audited).not.toContain("a-pkce-code-verifier");
    expect(await h.app.audit.verify(h.admin, {})).toMatchObject({ ok: true });
  });

  it("re-seals nothing, names every value and audits them when the key that sealed them is not given", async () => {
    const before = await sealedValues();
    const report = await resealSecrets(h.context, createAesGcmSealer([newKey]), "operator");
    expect(report).toMatchObject({
      tenants: 3,
      totpSecrets: 0,
      idpClientSecrets: 0,
      pkceVerifiers: 0,
      signingKeys: 0,
    });
    expect(report.unopened?.map((value) => value.kind)).toEqual([
      "totp_secret",
      "idp_client_secret",
      "totp_secret",
      "idp_client_secret",
      "totp_secret",
      "idp_client_secret",
      "pkce_verifier",
      "pkce_verifier",
      "signing_key",
      "signing_key",
    ]);
    expect(await sealedValues()).toEqual(before);
    const resealed = await h.app.audit.list(h.admin, "acme", { type: "secrets.resealed" }, {});
    expect(resealed.items).toEqual([]);
    const incomplete = await h.app.audit.list(
      h.admin,
      null,
      { type: "secrets.reseal_incomplete" },
      {},
    );
    expect(incomplete.items.map((e) => e.payload)).toEqual([
      { count: 10, unopened: report.unopened },
    ]);
  });

  it("reports nothing unopened when every value opens", async () => {
    const report = await resealWithNewKey();
    expect(report).toEqual({
      tenants: 3,
      totpSecrets: 3,
      idpClientSecrets: 3,
      pkceVerifiers: 2,
      signingKeys: 2,
    });
    const incomplete = await h.app.audit.list(
      h.admin,
      null,
      { type: "secrets.reseal_incomplete" },
      {},
    );
    expect(incomplete.items).toEqual([]);
  });
};

describe(
  "re-sealing a store holding values that do not open (SQLite)",
  unopenableTests(openSqliteWorld),
);

describeOnPostgres(
  {
    title: "re-sealing a store holding values that do not open (PostgreSQL)",
    skippedTitle: "re-sealing a store holding values that do not open (PostgreSQL)",
    tests: "reseal tests on PostgreSQL",
  },
  unopenableTests(openPostgresWorld),
);
