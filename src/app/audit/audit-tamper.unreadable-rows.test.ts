// Threat: someone with write access to the database overwrites, with text that is not JSON, a
// row of a table that `audit verify` reads besides the chains: an API key, a tenant, a mandate
// version, a signing key, a tenant's policy version, IdP registration or observation, WebAuthn
// settings or credential. The store never writes such text, so only tampering leaves it. Verify
// answered `store.unavailable`: the tampering passed for an outage, nothing named the row, and
// no chain was verified at all. It must report the row as damaged (its table and id), still
// verify every chain and report what it finds there, and say the store is not intact.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Harness } from "../test-support/harness.js";
import { describeOnPostgres } from "../test-support/postgres-instances.js";
import {
  openPostgresWorld,
  openSqliteWorld,
  type TamperedWorld,
} from "../test-support/tampered-world.js";

const unreadableRowTests = (open: () => Promise<TamperedWorld>) => () => {
  let world: TamperedWorld | undefined;
  let h: Harness;
  let auditorKey: string;
  /** Every event of every chain, as verify counts them on the untouched store. */
  let events: number;

  beforeEach(async () => {
    world = await open();
    ({ h } = world);
    for (const id of ["acme", "globex", "initech"]) {
      await h.app.tenants.create(h.admin, { id, name: id });
    }
    await h.app.principals.upsert(h.admin, "acme", "alice", { population: "direct" });
    await h.app.mandates.create(h.admin, {
      id: "uplift",
      mandate: { scope: { tenants: "all" }, require: { minAal: 2 }, exemptible: true },
      rationale: "threat",
    });
    auditorKey = (await h.caller(["tenant_auditor"], ["acme"])).id;
    // The first signing key is made on first use.
    await h.app.assurance.jwks();
    const intact = await h.app.audit.verify(h.admin, {});
    expect(intact).toMatchObject({ ok: true });
    ({ events } = intact);
  });
  afterEach(async () => {
    await world?.close();
  });

  const tamper = (statements: readonly string[]) => {
    if (world === undefined) throw new Error("not set up");
    return world.tamper(statements);
  };
  const signingKid = async (): Promise<string> => {
    const [key] = await h.store.read((r) => r.signingKeys.list());
    if (key === undefined) throw new Error("no signing key");
    return key.kid;
  };

  it.each([
    ["api_keys", "roles"],
    ["api_keys", "tenants"],
    ["api_keys", "audiences"],
  ])(
    "reports an API key whose %s.%s is not JSON as damaged, and still verifies every chain",
    async (table, column) => {
      await tamper([`UPDATE ${table} SET ${column} = 'not json' WHERE id = '${auditorKey}'`]);
      expect(await h.app.audit.verify(h.admin, {})).toEqual({
        ok: false,
        chains: 4,
        events,
        damaged: [{ table: "api_keys", id: auditorKey }],
      });
    },
  );

  it("reports a tenant whose return URLs are not JSON as damaged, verifying every chain and its own", async () => {
    await tamper(["UPDATE tenants SET return_urls = '[\"https://' WHERE id = 'acme'"]);
    const damaged = [{ table: "tenants", id: "acme" }];
    expect(await h.app.audit.verify(h.admin, {})).toEqual({
      ok: false,
      chains: 4,
      events,
      damaged,
    });
    const acme = await h.app.audit.verify(h.admin, { tenant: "acme" });
    expect(acme).toMatchObject({ ok: false, chains: 1, damaged });
    expect(acme.events).toBeGreaterThan(1);
    expect(acme.broken).toBeUndefined();
  });

  it("still lists the chains of the tenants after a damaged one, and finds one of them erased", async () => {
    await tamper([
      "UPDATE tenants SET return_urls = 'not json' WHERE id = 'acme'",
      "DELETE FROM audit_events WHERE chain = 'tenant:initech'",
      "DELETE FROM audit_heads WHERE chain = 'tenant:initech'",
    ]);
    // Its chain is named by its tenant's row alone now, listed after the damaged one.
    expect(await h.app.audit.verify(h.admin, {})).toMatchObject({
      ok: false,
      chains: 4,
      damaged: [{ table: "tenants", id: "acme" }],
      broken: { chain: "tenant:initech", seq: 0, problem: "missing" },
    });
  });

  it("reports a mandate version whose mandate is not JSON as damaged, naming its version", async () => {
    await tamper(["UPDATE mandate_versions SET mandate = '{' WHERE id = 'uplift'"]);
    expect(await h.app.audit.verify(h.admin, {})).toEqual({
      ok: false,
      chains: 4,
      events,
      damaged: [{ table: "mandate_versions", id: "uplift", version: 1 }],
    });
  });

  it("reports a signing key whose public key is not JSON as damaged", async () => {
    const kid = await signingKid();
    await tamper([`UPDATE signing_keys SET public_jwk = 'not json' WHERE kid = '${kid}'`]);
    expect(await h.app.audit.verify(h.admin, {})).toEqual({
      ok: false,
      chains: 4,
      events,
      damaged: [{ table: "signing_keys", id: kid }],
    });
  });

  it("verifies the chains without a checkpoint that only a damaged signing key could confirm, and says so", async () => {
    const taken = await h.app.audit.checkpoint(h.admin, { tenant: "acme" });
    const kid = await signingKid();
    await tamper([`UPDATE signing_keys SET public_jwk = 'not json' WHERE kid = '${kid}'`]);
    const result = await h.app.audit.verify(h.admin, {
      tenant: "acme",
      checkpoint: taken.checkpoint,
    });
    expect(result).toMatchObject({
      ok: false,
      chains: 1,
      damaged: [{ table: "signing_keys", id: kid }],
    });
    // Not confirmed: the result names no checkpoint verified against.
    expect(result.checkpoint).toBeUndefined();
    // With the key kept beside it, the store's keys have no say, and the checkpoint is checked.
    expect(
      await h.app.audit.verify(h.admin, {
        tenant: "acme",
        checkpoint: taken.checkpoint,
        checkpointKey: taken.key,
      }),
    ).toMatchObject({ ok: true, checkpoint: { chain: "tenant:acme", seq: taken.seq } });
  });

  it("reports damaged rows of every table together with the first broken link", async () => {
    const kid = await signingKid();
    await tamper([
      `UPDATE api_keys SET roles = 'not json' WHERE id = '${auditorKey}'`,
      "UPDATE tenants SET return_urls = 'not json' WHERE id = 'globex'",
      "UPDATE mandate_versions SET mandate = 'not json' WHERE id = 'uplift'",
      `UPDATE signing_keys SET public_jwk = 'not json' WHERE kid = '${kid}'`,
      "UPDATE audit_events SET actor = 'someone else' WHERE chain = 'tenant:acme' AND seq = 2",
    ]);
    const result = await h.app.audit.verify(h.admin, {});
    expect(result).toMatchObject({
      ok: false,
      broken: { chain: "tenant:acme", seq: 2, problem: "hash_mismatch" },
    });
    expect(result.damaged).toEqual(
      expect.arrayContaining([
        { table: "api_keys", id: auditorKey },
        { table: "tenants", id: "globex" },
        { table: "mandate_versions", id: "uplift", version: 1 },
        { table: "signing_keys", id: kid },
      ]),
    );
    expect(result.damaged).toHaveLength(4);
  });

  // An operator repairing the store needs every damaged row, not the first of each table: each
  // run would otherwise name one more, and a mandate's older versions were never read at all.
  it("reports every damaged row of each table, an older mandate version's too, in table and id order", async () => {
    await h.app.mandates.update(h.admin, "uplift", {
      mandate: { scope: { tenants: "all" }, require: { minAal: 3 }, exemptible: true },
      rationale: "worse threat",
      ifMatch: 1,
    });
    await h.app.mandates.create(h.admin, {
      id: "phishing",
      mandate: {
        scope: { tenants: "all" },
        require: { phishingResistant: true },
        exemptible: true,
      },
      rationale: "phishing",
    });
    await h.app.assurance.rotateSigningKey(h.admin, {});
    const kids = (await h.store.read((r) => r.signingKeys.list())).map((key) => key.kid);
    expect(kids).toHaveLength(2);
    const keys = [h.admin.id, auditorKey].sort();
    await tamper([
      "UPDATE api_keys SET roles = 'not json'",
      "UPDATE mandate_versions SET mandate = 'not json' WHERE NOT (id = 'uplift' AND version = 2)",
      "UPDATE signing_keys SET public_jwk = 'not json'",
    ]);
    const damaged = [
      ...keys.map((id) => ({ table: "api_keys", id })),
      { table: "mandate_versions", id: "phishing", version: 1 },
      { table: "mandate_versions", id: "uplift", version: 1 },
      ...kids.map((id) => ({ table: "signing_keys", id })),
    ];
    expect(await h.app.audit.verify(h.admin, {})).toMatchObject({ ok: false, chains: 4, damaged });
  });

  // A tenant's policy, IdPs and WebAuthn settings and credentials: a decision or sign-in that
  // meets one is refused (store.record_damaged), and that refusal points to `audit verify`, which
  // must then name every one of them, an older policy version too, which no decision reads.
  it("reports damaged policy versions, IdPs, IdP observations and WebAuthn settings and credentials", async () => {
    const at = "'2026-01-01T00:00:00.000Z'";
    await tamper([
      `INSERT INTO policy_versions (tenant, version, policy, rationale, actor, created_at) SELECT tenant, 2, policy, 'newer', actor, ${at} FROM policy_versions WHERE tenant = 'globex' AND version = 1`,
      "UPDATE policy_versions SET policy = 'not json' WHERE version = 1 AND tenant IN ('acme', 'globex')",
      `INSERT INTO idps (tenant, id, protocol, document, version, created_at, updated_at) VALUES ('acme', 'corp', 'oidc', 'not json', 1, ${at}, ${at})`,
      `INSERT INTO idp_observations (tenant, idp, proving_mfa, unmapped_seen, updated_at) VALUES ('globex', 'corp', 1, 'not json', ${at})`,
      `INSERT INTO webauthn_settings (tenant, document, updated_at, updated_by) VALUES ('initech', 'not json', ${at}, 'someone')`,
      `INSERT INTO webauthn_credentials (tenant, principal, id, credential_id, name, public_key, algorithm, sign_count, transports, aaguid, backup_eligible, backup_state, device_type, user_verified, created_at) VALUES ('acme', 'alice', 'cred_1', 'AAAA', 'key', 'pk', -7, 0, 'not json', '00000000-0000-0000-0000-000000000000', 0, 0, 'singleDevice', 1, ${at})`,
    ]);
    expect(await h.app.audit.verify(h.admin, {})).toEqual({
      ok: false,
      chains: 4,
      events,
      damaged: [
        { table: "idp_observations", tenant: "globex", id: "corp" },
        { table: "idps", tenant: "acme", id: "corp" },
        { table: "policy_versions", id: "acme", version: 1 },
        { table: "policy_versions", id: "globex", version: 1 },
        { table: "webauthn_credentials", tenant: "acme", id: "cred_1" },
        { table: "webauthn_settings", id: "initech" },
      ],
    });
  });

  // A tenant auditor verifying their tenant's chain was told "ok" while a sign-in meeting one of
  // its damaged rows is refused (store.record_damaged, pointing to `audit verify`): the tenant's
  // own rows are named, and another tenant's never are (invariant 5), even under the same ids.
  it("names a tenant's own damaged rows when its chain alone is verified, and no other tenant's", async () => {
    const auditor = await h.caller(["tenant_auditor"], ["acme", "globex"]);
    const [acme, globex] = await Promise.all([
      h.app.audit.verify(auditor, { tenant: "acme" }),
      h.app.audit.verify(auditor, { tenant: "globex" }),
    ]);
    expect(acme).toMatchObject({ ok: true, chains: 1 });
    expect(globex).toMatchObject({ ok: true, chains: 1 });
    const at = "'2026-01-01T00:00:00.000Z'";
    await tamper([
      `INSERT INTO policy_versions (tenant, version, policy, rationale, actor, created_at) SELECT tenant, 2, policy, 'newer', actor, ${at} FROM policy_versions WHERE tenant = 'acme' AND version = 1`,
      "UPDATE policy_versions SET policy = 'not json' WHERE tenant = 'acme' AND version = 1",
      ...["acme", "initech"].flatMap((tenant) => [
        `INSERT INTO idps (tenant, id, protocol, document, version, created_at, updated_at) VALUES ('${tenant}', 'corp', 'oidc', 'not json', 1, ${at}, ${at})`,
        `INSERT INTO idp_observations (tenant, idp, proving_mfa, unmapped_seen, updated_at) VALUES ('${tenant}', 'corp', 1, 'not json', ${at})`,
        `INSERT INTO webauthn_settings (tenant, document, updated_at, updated_by) VALUES ('${tenant}', 'not json', ${at}, 'someone')`,
      ]),
      `INSERT INTO webauthn_credentials (tenant, principal, id, credential_id, name, public_key, algorithm, sign_count, transports, aaguid, backup_eligible, backup_state, device_type, user_verified, created_at) VALUES ('acme', 'alice', 'cred_1', 'AAAA', 'key', 'pk', -7, 0, 'not json', '00000000-0000-0000-0000-000000000000', 0, 0, 'singleDevice', 1, ${at})`,
    ]);
    const damagedOfAcme = [
      { table: "idp_observations", tenant: "acme", id: "corp" },
      { table: "idps", tenant: "acme", id: "corp" },
      { table: "policy_versions", id: "acme", version: 1 },
      { table: "webauthn_credentials", tenant: "acme", id: "cred_1" },
      { table: "webauthn_settings", id: "acme" },
    ];
    for (const caller of [auditor, h.admin]) {
      expect(await h.app.audit.verify(caller, { tenant: "acme" })).toEqual({
        ...acme,
        ok: false,
        damaged: damagedOfAcme,
      });
      // Its chain verifies, and nothing of acme's (or initech's) is named to globex's auditor.
      expect(await h.app.audit.verify(caller, { tenant: "globex" })).toEqual(globex);
    }
    // Every chain verified names every tenant's, as before.
    const all = await h.app.audit.verify(h.admin, {});
    expect(all).toMatchObject({ ok: false, chains: 4 });
    expect(all.broken).toBeUndefined();
    expect(all.damaged).toEqual(
      expect.arrayContaining([
        ...damagedOfAcme,
        { table: "idps", tenant: "initech", id: "corp" },
        { table: "webauthn_settings", id: "initech" },
      ]),
    );
    expect(all.damaged).toHaveLength(8);
  });

  // Read a page at a time (1000 rows): every page is read, and the first 100 named.
  it("names the first 100 damaged policy versions over many pages and counts the rest", async () => {
    await tamper([
      "INSERT INTO policy_versions (tenant, version, policy, rationale, actor, created_at) WITH RECURSIVE n(v) AS (SELECT 2 UNION ALL SELECT v + 1 FROM n WHERE v < 1201) SELECT 'acme', v, 'not json', 'forged', 'someone', '2026-01-01T00:00:00.000Z' FROM n",
    ]);
    const result = await h.app.audit.verify(h.admin, {});
    expect(result).toMatchObject({ ok: false, chains: 4, events });
    expect(result.damaged).toEqual(
      Array.from({ length: 100 }, (_, n) => ({
        table: "policy_versions",
        id: "acme",
        version: n + 2,
      })),
    );
    expect(result.damagedUnlisted).toEqual({ policy_versions: 1100 });
    // The tenant's own chain verified reads them a page at a time too, its rows only.
    const acme = await h.app.audit.verify(h.admin, { tenant: "acme" });
    expect(acme).toMatchObject({
      ok: false,
      chains: 1,
      damagedUnlisted: { policy_versions: 1100 },
    });
    expect(acme.damaged).toEqual(result.damaged);
  });

  it("names the first 100 damaged rows of a table, in id order, and counts the rest", async () => {
    const ids = Array.from({ length: 103 }, (_, n) => `key_damaged_${String(n).padStart(3, "0")}`);
    await tamper([
      ...ids.map(
        (id) =>
          `INSERT INTO api_keys (id, name, secret_hash, roles, tenants, created_at, created_by) VALUES ('${id}', 'forged', 'hash-${id}', 'not json', '"all"', '2026-01-01T00:00:00.000Z', 'someone')`,
      ),
      "UPDATE tenants SET return_urls = 'not json' WHERE id = 'acme'",
    ]);
    const result = await h.app.audit.verify(h.admin, {});
    expect(result).toMatchObject({ ok: false, chains: 4, events });
    expect(result.damaged).toEqual([
      ...ids.slice(0, 100).map((id) => ({ table: "api_keys", id })),
      { table: "tenants", id: "acme" },
    ]);
    expect(result.damagedUnlisted).toEqual({ api_keys: 3 });
  });
};

describe(
  "audit verify of other rows that are no longer JSON (SQLite)",
  unreadableRowTests(openSqliteWorld),
);

describeOnPostgres(
  {
    title: "audit verify of other rows that are no longer JSON (PostgreSQL)",
    skippedTitle: "audit verify of other rows that are no longer JSON (PostgreSQL)",
    tests: "audit verify tests on PostgreSQL",
  },
  unreadableRowTests(openPostgresWorld),
);
