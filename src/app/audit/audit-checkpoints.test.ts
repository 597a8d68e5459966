// Threat (DESIGN: auditors verify the audit chain without trusting the operator): someone who
// writes to the database rewrites history and recomputes every hash after the change, moving the
// head row with it, or deletes the newest events and moves the head back. The chain alone then
// verifies. A checkpoint that an auditor kept, signed by the service, names an event and its
// hash: verifying against it finds either rewrite. A checkpoint that this service did not sign,
// or signed for another chain, is refused.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import {
  compactVerify,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  SignJWT,
} from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller } from "../application.js";
import type { AuditEvent } from "../records.js";
import { testFederationParts } from "../test-support/federation-parts.js";
import { CountingRandom, openHarness, type Harness } from "../test-support/harness.js";
import { hashEvent } from "./audit-chain.js";
import { AUDIT_CHECKPOINT_TYPE } from "./audit-checkpoints.js";

describe("signed audit checkpoints", () => {
  let dir: string;
  let h: Harness;
  let db: Database.Database;
  let auditor: Caller;

  const changePolicy = async (version: number) =>
    h.app.policies.replace(h.admin, "acme", {
      policy: { posture: version % 2 === 0 ? "platform_mfa" : "idp_mfa" },
      rationale: `change ${String(version)}`,
      ifMatch: version,
    });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "tenant-mfa-checkpoints-"));
    const file = join(dir, "store.db");
    h = await openHarness({ url: `sqlite:${file}` });
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme" });
    await h.app.tenants.create(h.admin, { id: "globex", name: "Globex" });
    for (let version = 1; version <= 4; version++) await changePolicy(version);
    auditor = await h.caller(["tenant_auditor"], ["acme"]);
    db = new Database(file);
  });
  afterEach(async () => {
    db.close();
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const verifyAcme = (checkpoint?: string) =>
    h.app.audit.verify(auditor, {
      tenant: "acme",
      ...(checkpoint === undefined ? {} : { checkpoint }),
    });

  /** Rewrites event `seq` of acme's chain and every later hash, and moves the head: a forger. */
  function rewrite(seq: number): void {
    const rows = db
      .prepare("SELECT * FROM audit_events WHERE chain = 'tenant:acme' AND seq >= ? ORDER BY seq")
      .all(seq) as Record<string, unknown>[];
    let prevHash = String(rows[0]?.["prev_hash"]);
    for (const row of rows) {
      const event: Omit<AuditEvent, "hash"> = {
        chain: String(row["chain"]),
        seq: Number(row["seq"]),
        id: String(row["id"]),
        tenant: row["tenant"] as string | null,
        type: String(row["type"]),
        actor: Number(row["seq"]) === seq ? "someone-else" : String(row["actor"]),
        at: String(row["at"]),
        payload: JSON.parse(String(row["payload"])) as Record<string, unknown>,
        prevHash,
      };
      const hash = hashEvent(event);
      db.prepare(
        "UPDATE audit_events SET actor = ?, prev_hash = ?, hash = ? WHERE chain = ? AND seq = ?",
      ).run(event.actor, prevHash, hash, event.chain, event.seq);
      db.prepare("UPDATE audit_heads SET hash = ? WHERE chain = ? AND seq = ?").run(
        hash,
        event.chain,
        event.seq,
      );
      prevHash = hash;
    }
  }

  it("states the chain's head, signed, with the key that verifies it", async () => {
    const taken = await h.app.audit.checkpoint(auditor, { tenant: "acme" });
    expect(taken).toMatchObject({ chain: "tenant:acme", seq: 5, at: h.clock.now().toISOString() });
    const { hash } = db
      .prepare("SELECT hash FROM audit_heads WHERE chain = 'tenant:acme'")
      .get() as { hash: string };
    expect(taken.hash).toBe(hash);
    // What an auditor checks on their own, with a JOSE library and the key kept beside it.
    expect(decodeProtectedHeader(taken.checkpoint)).toMatchObject({
      typ: AUDIT_CHECKPOINT_TYPE,
      kid: taken.key.kid,
    });
    const { payload } = await compactVerify(
      taken.checkpoint,
      await importJWK(taken.key, taken.key.alg),
    );
    expect(JSON.parse(new TextDecoder().decode(payload))).toMatchObject({
      iss: "https://mfa.test",
      chain: "tenant:acme",
      seq: 5,
      hash,
    });
  });

  it("verifies a chain that grew after the checkpoint", async () => {
    const { checkpoint } = await h.app.audit.checkpoint(auditor, { tenant: "acme" });
    await changePolicy(5);
    expect(await verifyAcme(checkpoint)).toEqual({
      ok: true,
      chains: 1,
      events: 6,
      checkpoint: { chain: "tenant:acme", seq: 5, issuer: "https://mfa.test" },
    });
  });

  it("finds history rewritten before the checkpoint, hashes and head recomputed", async () => {
    const { checkpoint } = await h.app.audit.checkpoint(auditor, { tenant: "acme" });
    rewrite(3);
    // The chain alone links up again: this is what only the checkpoint can find.
    expect(await verifyAcme()).toMatchObject({ ok: true });
    expect(await verifyAcme(checkpoint)).toMatchObject({
      ok: false,
      broken: { chain: "tenant:acme", seq: 5, problem: "checkpoint_mismatch" },
    });
  });

  it("finds the newest events deleted with the head moved back before the checkpoint", async () => {
    const { checkpoint } = await h.app.audit.checkpoint(auditor, { tenant: "acme" });
    db.prepare("DELETE FROM audit_events WHERE chain = 'tenant:acme' AND seq >= 4").run();
    db.prepare(
      "UPDATE audit_heads SET seq = 3, hash = (SELECT hash FROM audit_events WHERE chain = 'tenant:acme' AND seq = 3) WHERE chain = 'tenant:acme'",
    ).run();
    expect(await verifyAcme()).toMatchObject({ ok: true });
    expect(await verifyAcme(checkpoint)).toMatchObject({
      ok: false,
      broken: { chain: "tenant:acme", seq: 5, problem: "checkpoint_mismatch" },
    });
  });

  // Threat: SQLite keeps text written to an integer column as text, and text compares with no
  // number (NaN in JavaScript, after every integer in SQLite's order). The newest events are
  // deleted, one forged event at position 'x' links up to what is left (its hash over seq "x",
  // recomputed), and the head names it: every check of positions passed, the checkpoint's among
  // them (is 'x' before 5? no), and verify confirmed a checkpoint whose event is gone.
  it("finds the newest events deleted behind an event and a head at a position that is not a number", async () => {
    const { checkpoint } = await h.app.audit.checkpoint(auditor, { tenant: "acme" });
    db.prepare("DELETE FROM audit_events WHERE chain = 'tenant:acme' AND seq >= 4").run();
    const third = db
      .prepare("SELECT * FROM audit_events WHERE chain = 'tenant:acme' AND seq = 3")
      .get() as Record<string, string>;
    const forged = {
      chain: "tenant:acme",
      seq: "x" as unknown as number,
      id: "evt_forged",
      tenant: "acme",
      type: "policy.replaced",
      actor: "someone",
      at: String(third["at"]),
      payload: {},
      prevHash: String(third["hash"]),
    };
    const hash = hashEvent(forged);
    db.prepare(
      "INSERT INTO audit_events (chain, seq, id, tenant, type, actor, at, payload, prev_hash, hash) VALUES ('tenant:acme', 'x', 'evt_forged', 'acme', ?, ?, ?, '{}', ?, ?)",
    ).run(forged.type, forged.actor, forged.at, forged.prevHash, hash);
    db.prepare("UPDATE audit_heads SET seq = 'x', hash = ? WHERE chain = 'tenant:acme'").run(hash);
    expect(await verifyAcme(checkpoint)).toMatchObject({
      ok: false,
      broken: { chain: "tenant:acme", seq: 4, problem: "gap" },
    });
    expect(await h.app.audit.verify(h.admin, {})).toMatchObject({
      ok: false,
      broken: { chain: "tenant:acme", seq: 4, problem: "gap" },
    });
    // The head alone at such a position names no event the chain reaches.
    db.prepare("DELETE FROM audit_events WHERE id = 'evt_forged'").run();
    expect(await verifyAcme(checkpoint)).toMatchObject({
      ok: false,
      broken: { chain: "tenant:acme", seq: 4, problem: "truncated" },
    });
  });

  it("still verifies against a checkpoint whose key was rotated out as compromised", async () => {
    const { checkpoint } = await h.app.audit.checkpoint(auditor, { tenant: "acme" });
    await h.app.assurance.rotateSigningKey(h.admin, { compromised: true });
    expect(await verifyAcme(checkpoint)).toMatchObject({ ok: true, checkpoint: { seq: 5 } });
  });

  // Threat: someone who writes the store plants a key of their own in it (or holds one withdrawn
  // as compromised), rewrites history and signs a checkpoint of the rewrite. Checked against the
  // store's keys it passes; against the key the auditor kept beside a genuine checkpoint, never.
  it("verifies a checkpoint with the key kept beside it, so that a key planted in the store forges none", async () => {
    const genuine = await h.app.audit.checkpoint(auditor, { tenant: "acme" });
    rewrite(3);
    const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
    const planted = { ...(await exportJWK(publicKey)), kid: "key_planted", alg: "ES256" };
    db.prepare(
      "INSERT INTO signing_keys VALUES ('key_planted', 'ES256', ?, 'x', ?, ?, NULL, ?, '2000-01-02T00:00:00.000Z')",
    ).run(
      JSON.stringify(planted),
      "2000-01-01T00:00:00.000Z",
      "2000-01-01T00:00:00.000Z",
      "2000-01-01T00:00:00.000Z",
    );
    const head = db
      .prepare("SELECT seq, hash FROM audit_heads WHERE chain = 'tenant:acme'")
      .get() as { seq: number; hash: string };
    const forged = await new SignJWT({ chain: "tenant:acme", seq: head.seq, hash: head.hash })
      .setProtectedHeader({ alg: "ES256", kid: "key_planted", typ: AUDIT_CHECKPOINT_TYPE })
      .setIssuer("https://mfa.test")
      .setIssuedAt(new Date("2000-01-01T12:00:00Z"))
      .sign(privateKey);

    // The store's keys alone cannot tell: this is why the auditor keeps the key.
    expect(await verifyAcme(forged)).toMatchObject({ ok: true });
    const kept = (checkpoint: string, checkpointKey: unknown) =>
      h.app.audit.verify(auditor, { tenant: "acme", checkpoint, checkpointKey });
    await expect(kept(forged, genuine.key)).rejects.toMatchObject({
      code: "audit.checkpoint_invalid",
    });
    expect(await kept(genuine.checkpoint, genuine.key)).toMatchObject({
      ok: false,
      broken: { chain: "tenant:acme", seq: 5, problem: "checkpoint_mismatch" },
    });
    const privateJwk = { ...(await exportJWK(privateKey)), kid: "key_planted", alg: "ES256" };
    for (const notAKey of [
      privateJwk,
      { ...genuine.key, alg: "none" },
      "key",
      null,
      [genuine.key],
    ]) {
      await expect(kept(genuine.checkpoint, notAKey)).rejects.toMatchObject({
        code: "audit.checkpoint_invalid",
      });
    }
  });

  // The kept key is the auditor's trust anchor: a copy of the store verified by a process with
  // another publicUrl (or none configured) still verifies what the server signed, and says whose
  // it was. Without the kept key, the store's keys are all there is, and the issuer must be ours.
  it("verifies a checkpoint with its kept key whatever the verifier's publicUrl, naming its issuer", async () => {
    const taken = await h.app.audit.checkpoint(auditor, { tenant: "acme" });
    const elsewhere = h.application({
      store: h.store,
      random: new CountingRandom(1000),
      federation: testFederationParts({ publicUrl: "https://copy.example", secrets: h.sealer }),
    });
    const verify = (checkpointKey?: unknown) =>
      elsewhere.audit.verify(h.admin, {
        tenant: "acme",
        checkpoint: taken.checkpoint,
        ...(checkpointKey === undefined ? {} : { checkpointKey }),
      });
    expect(await verify(taken.key)).toEqual({
      ok: true,
      chains: 1,
      events: 5,
      checkpoint: { chain: "tenant:acme", seq: 5, issuer: "https://mfa.test" },
    });
    await expect(verify()).rejects.toMatchObject({ code: "audit.checkpoint_invalid" });
    await elsewhere.close();
  });

  it("refuses a checkpoint it did not sign, or signed for another chain", async () => {
    const { checkpoint } = await h.app.audit.checkpoint(auditor, { tenant: "acme" });
    const [header, payload, signature] = checkpoint.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<
      string,
      unknown
    >;
    const edited = Buffer.from(JSON.stringify({ ...claims, seq: 2 })).toString("base64url");
    const globex = await h.app.audit.checkpoint(h.admin, { tenant: "globex" });
    const other = await openHarness();
    await other.app.tenants.create(other.admin, { id: "acme", name: "Acme" });
    const foreign = await other.app.audit.checkpoint(other.admin, { tenant: "acme" });
    await other.close();
    for (const token of [
      `${header}.${edited}.${signature}`,
      `${header}.${payload}.${signature.slice(0, -4)}AAAA`,
      `${header}.${payload}.`,
      "not a checkpoint",
      globex.checkpoint,
      foreign.checkpoint,
    ]) {
      await expect(verifyAcme(token)).rejects.toMatchObject({ code: "audit.checkpoint_invalid" });
    }
  });

  it("refuses an assurance token as a checkpoint: the signature is right, the type is not", async () => {
    const { checkpoint } = await h.app.audit.checkpoint(auditor, { tenant: "acme" });
    const kid = decodeProtectedHeader(checkpoint).kid ?? "";
    const key = await h.app.assurance.jwks();
    expect(key.keys.map((k) => k.kid)).toContain(kid);
    const [, payload, signature] = checkpoint.split(".") as [string, string, string];
    const retyped = Buffer.from(
      JSON.stringify({ alg: "ES256", kid, typ: "tenant-mfa-assurance+jwt" }),
    ).toString("base64url");
    await expect(verifyAcme(`${retyped}.${payload}.${signature}`)).rejects.toMatchObject({
      code: "audit.checkpoint_invalid",
    });
  });

  it("gives a tenant's checkpoint to its auditors, and the platform chain's to platform admins only", async () => {
    await expect(h.app.audit.checkpoint(auditor, { tenant: "globex" })).rejects.toMatchObject({
      code: "not_found",
    });
    await expect(h.app.audit.checkpoint(auditor, {})).rejects.toMatchObject({
      code: "auth.forbidden",
    });
    const platform = await h.app.audit.checkpoint(h.admin, {});
    expect(platform.chain).toBe("platform");
    expect(await h.app.audit.verify(h.admin, { checkpoint: platform.checkpoint })).toMatchObject({
      ok: true,
      checkpoint: { chain: "platform", seq: platform.seq },
    });
  });
});
