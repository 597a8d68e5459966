// Migration 0026 has a WebAuthn credential remember when it last gave a clone signal, while the
// signal stands, so that its view and decisions count it as not attested. Credentials that gave
// one before the migration must not read as clean: each is filled in from its tenant's audit
// chain, with its last `webauthn.clone_detected`, unless a `webauthn.verified` without warnings
// (its counter grew) came after it. Another credential's or another tenant's signal, or one
// lifted, leaves a credential clean.
import { sql, type Kysely } from "kysely";
import { expect } from "vitest";
import { at, tenantRecord } from "../contract/fixtures.js";
import { credential } from "../contract/describe-webauthn.js";
import { createTenantRepository } from "../kysely/tenant-repository.js";
import { createWebAuthnCredentialRepository } from "../kysely/webauthn-repository.js";
import { itOnMigratedDatabases } from "../test-support/stores-under-test.js";
import { webauthnCloneSuspectedMigration } from "./0026-webauthn-clone-suspected.js";

await itOnMigratedDatabases(
  "migration 0026 (clone suspected)",
  "fills in each credential's clone signal that stands from its tenant's audit chain",
  async (db) => {
    const tenants = createTenantRepository(db);
    await tenants.insert(tenantRecord("acme"));
    await tenants.insert(tenantRecord("beta"));
    const credentials = createWebAuthnCredentialRepository(db);
    const key = (tenant: string, id: string) => ({ ...credential(tenant), id });
    for (const record of [
      key("acme", "auth_warned"),
      key("acme", "auth_lifted"),
      key("acme", "auth_twice"),
      key("acme", "auth_clean"),
      key("beta", "auth_warned"),
    ]) {
      await credentials.insert(record);
    }
    const migration = webauthnCloneSuspectedMigration;
    if (migration.down === undefined) throw new Error("migration 0026 cannot be undone");
    await migration.down(db as Kysely<unknown>);

    const seqs = new Map<string, number>();
    /** An event of `tenant`'s chain as the audit log held it, next in its chain. */
    const event = async (tenant: string, type: string, seconds: number, payload: object) => {
      const chain = `tenant:${tenant}`;
      const seq = (seqs.get(chain) ?? 0) + 1;
      seqs.set(chain, seq);
      await sql`insert into audit_events (chain, seq, id, tenant, type, actor, at, payload, prev_hash, hash)
        values (${chain}, ${seq}, ${`evt_${tenant}_${String(seq)}`}, ${tenant}, ${type}, 'key_1',
          ${at(seconds)}, ${JSON.stringify(payload)}, 'x', 'y')`.execute(db);
    };
    const clone = (authenticator: string) => ({ principal: "alice", authenticator });
    const verified = (authenticator: string, warned: boolean) => ({
      principal: "alice",
      authenticator,
      kind: "webauthn",
      ...(warned ? { warnings: ["webauthn.clone_suspected"] } : {}),
    });
    // Accepted under `warn`: the signal, then its verification with the warning.
    await event("acme", "webauthn.clone_detected", 10, clone("auth_warned"));
    await event("acme", "webauthn.verified", 10, verified("auth_warned", true));
    // Refused under `reject`, then verified with a counter that grew.
    await event("acme", "webauthn.clone_detected", 20, clone("auth_lifted"));
    await event("acme", "webauthn.verified", 30, verified("auth_lifted", false));
    // A signal, lifted, and a later one that stands.
    await event("acme", "webauthn.clone_detected", 40, clone("auth_twice"));
    await event("acme", "webauthn.verified", 50, verified("auth_twice", false));
    await event("acme", "webauthn.clone_detected", 60, clone("auth_twice"));
    await event("acme", "webauthn.verified", 70, verified("auth_clean", false));
    // Another tenant's credential of the same id: its own chain decides.
    await event("beta", "webauthn.verified", 80, verified("auth_warned", false));
    await migration.up(db as Kysely<unknown>);

    const signalOf = async (tenant: string, id: string) =>
      (await credentials.get(tenant, "alice", id))?.cloneSuspectedAt;
    expect({
      warned: await signalOf("acme", "auth_warned"),
      lifted: await signalOf("acme", "auth_lifted"),
      twice: await signalOf("acme", "auth_twice"),
      clean: await signalOf("acme", "auth_clean"),
      otherTenant: await signalOf("beta", "auth_warned"),
    }).toEqual({
      warned: at(10),
      lifted: undefined,
      twice: at(60),
      clean: undefined,
      otherTenant: undefined,
    });
  },
);

await itOnMigratedDatabases(
  "migration 0026 (clone suspected)",
  "finds the verification that lifted a signal past a thousand others of the chain",
  async (db) => {
    await createTenantRepository(db).insert(tenantRecord("acme"));
    const credentials = createWebAuthnCredentialRepository(db);
    for (const id of ["auth_lifted", "auth_standing", "auth_busy"]) {
      await credentials.insert({ ...credential("acme"), id });
    }
    const migration = webauthnCloneSuspectedMigration;
    if (migration.down === undefined) throw new Error("migration 0026 cannot be undone");
    await migration.down(db as Kysely<unknown>);

    // Two signals, then the verifications of a busy key, read a page at a time, and only after
    // them the one that lifts the first signal.
    const rows: [string, object][] = [
      ["webauthn.clone_detected", { principal: "alice", authenticator: "auth_lifted" }],
      ["webauthn.clone_detected", { principal: "alice", authenticator: "auth_standing" }],
      ...Array.from({ length: 2100 }, (): [string, object] => [
        "webauthn.verified",
        { principal: "alice", authenticator: "auth_busy", kind: "webauthn" },
      ]),
      ["webauthn.verified", { principal: "alice", authenticator: "auth_lifted", kind: "webauthn" }],
    ];
    const values = rows.map(([type, payload], index) => ({
      chain: "tenant:acme",
      seq: index + 1,
      id: `evt_${String(index + 1)}`,
      tenant: "acme",
      type,
      actor: "key_1",
      at: at(index),
      payload: JSON.stringify(payload),
      prev_hash: "x",
      hash: "y",
    }));
    const audit = db as unknown as Kysely<{ audit_events: (typeof values)[number] }>;
    for (let from = 0; from < values.length; from += 500) {
      await audit
        .insertInto("audit_events")
        .values(values.slice(from, from + 500))
        .execute();
    }
    await migration.up(db as Kysely<unknown>);

    const signalOf = async (id: string) =>
      (await credentials.get("acme", "alice", id))?.cloneSuspectedAt;
    expect({
      lifted: await signalOf("auth_lifted"),
      standing: await signalOf("auth_standing"),
      busy: await signalOf("auth_busy"),
    }).toEqual({ lifted: undefined, standing: at(1), busy: undefined });
  },
);
