/**
 * Threat: an auditor who can only take the operator's word, or write their own checker. With
 * what the API hands an auditor (the JSON Lines export, a signed checkpoint with its key, the
 * receipts), `tenant-mfa audit check-export` checks a chain with no access to the store: it
 * confirms an intact one against the checkpoint, and finds history rewritten with every hash
 * recomputed, a receipt edited, a forged checkpoint and an export cut short.
 */
import { decodeProtectedHeader, exportJWK, generateKeyPair } from "jose";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { linkEvent } from "../app/audit/audit-chain.js";
import type { AuditEvent } from "../app/records.js";
import { openTestServer, type TestServer } from "../http/test-support/open-test-server.js";
import type { ExportedChainCheck } from "../app/audit/check-exported-chain.js";
import { describeExportCheck } from "./check-export.js";
import { createJoseTokenSigner } from "../tokens/jose-token-signer.js";
import { runCli } from "./test-support/run-cli.js";

let t: TestServer;
let folder: string;
let events: AuditEvent[];
let exportText: string;
let receipts: Record<string, unknown>[];
let checkpointFile: string;
let checkpointSeq: number;

/** Writes `text` to a file of the test's folder and returns its path. */
function file(name: string, text: string): string {
  const path = join(folder, name);
  writeFileSync(path, text);
  return path;
}

/** The public key kept in the checkpoint file the service printed. */
function keptKey(): Record<string, string> & { kid: string; alg: string } {
  return (JSON.parse(readFileSync(checkpointFile, "utf8")) as { key: never }).key;
}

/** A public JWK's RFC 7638 thumbprint: SHA-256 of its required members, base64url. */
function thumbprintOf(jwk: Record<string, string>): string {
  const { crv, kty, x, y } = jwk;
  const required = kty === "EC" ? { crv, kty, x, y } : { crv, kty, x };
  return createHash("sha256").update(JSON.stringify(required)).digest("base64url");
}

const jsonLines = (values: readonly unknown[]) =>
  values.map((value) => `${JSON.stringify(value)}\n`).join("");

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), "tenant-mfa-check-export-"));
  t = await openTestServer();
  await t.call("POST", "/v1/tenants", { key: t.adminKey, body: { id: "acme", name: "Acme" } });
  await t.call("PUT", "/v1/tenants/acme/principals/alice", {
    key: t.adminKey,
    body: { population: "direct" },
  });
  const service = await t.key(["platform_service"], ["acme"]);
  const decisions: string[] = [];
  for (let i = 0; i < 3; i++) {
    const decided = await t.call("POST", "/v1/tenants/acme/decisions", {
      key: service,
      body: {
        principal: { id: "alice" },
        evidence: {
          events: [{ method: "password", source: "platform", at: t.clock.now().toISOString() }],
        },
      },
    });
    expect(decided.statusCode).toBe(201);
    decisions.push(decided.json<{ id: string }>().id);
  }
  const auditor = await t.key(["tenant_auditor"], ["acme"]);
  const checkpoint = await t.call("GET", "/v1/audit/checkpoint?tenant=acme", { key: auditor });
  expect(checkpoint.statusCode).toBe(200);
  checkpointSeq = checkpoint.json<{ seq: number }>().seq;
  checkpointFile = file("checkpoint.json", checkpoint.body);
  // One more decision after the checkpoint: the export runs past it.
  await t.call("POST", "/v1/tenants/acme/decisions", {
    key: service,
    body: { principal: { id: "alice" }, evidence: { events: [] } },
  });
  const exported = await t.call("GET", "/v1/tenants/acme/audit?format=jsonl", { key: auditor });
  exportText = exported.body;
  events = exportText
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line) as AuditEvent);
  receipts = [];
  for (const id of decisions) {
    receipts.push((await t.call("GET", `/v1/decisions/${id}`, { key: auditor })).json());
  }
});
afterAll(() => t.close());

describe("tenant-mfa audit check-export", () => {
  it("confirms an intact export against the checkpoint, and the receipts against their events", async () => {
    const result = await runCli([
      "audit",
      "check-export",
      file("intact.jsonl", exportText),
      "--checkpoint",
      checkpointFile,
      "--receipts",
      file("receipts.jsonl", jsonLines(receipts)),
    ]);
    expect(result.stdout).toBe(
      `ok: chain tenant:acme, events 1–${String(events.length)} (${String(events.length)}) verified, matching the checkpoint at event ${String(checkpointSeq)} (issued by https://mfa.test, signed by key ${keptKey().kid}, thumbprint ${thumbprintOf(keptKey())}); 3 receipt(s) match their events\n`,
    );
    expect(result.exitCode).toBe(0);
  });

  it("reads the export from standard input, and receipts as a JSON array", async () => {
    const result = await runCli(
      ["audit", "check-export", "-", "--receipts", file("receipts.json", JSON.stringify(receipts))],
      {},
      { text: exportText, isTTY: false },
    );
    expect(result.stdout).toContain("3 receipt(s) match their events");
    expect(result.exitCode).toBe(0);
  });

  it("finds history rewritten with every hash recomputed, which links up without the checkpoint", async () => {
    const rewritten: AuditEvent[] = [];
    for (const event of events) {
      const { tenant, type, actor, id, at } = event;
      const payload =
        event.seq === 2 ? { ...event.payload, displayName: "someone else" } : event.payload;
      rewritten.push(
        event.seq < 2
          ? event
          : linkEvent({ tenant, type, actor, payload }, rewritten.at(-1), id, at),
      );
    }
    const forged = file("rewritten.jsonl", jsonLines(rewritten));
    expect((await runCli(["audit", "check-export", forged])).exitCode).toBe(0);
    const result = await runCli(["audit", "check-export", forged, "--checkpoint", checkpointFile]);
    expect(result.stdout).toContain(
      `BROKEN: chain tenant:acme, event ${String(checkpointSeq)} (line ${String(checkpointSeq)}): checkpoint_mismatch`,
    );
    expect(result.exitCode).toBe(1);
  });

  it("names the key that verified the checkpoint, for the auditor to compare with the one pinned", async () => {
    // The operator rewrites history and hands over a checkpoint of it signed with a key of their
    // own under the service key's kid and issuer: it verifies with the key in its file, and
    // only the key named tells it apart from the service's.
    const rewritten: AuditEvent[] = [];
    for (const event of events) {
      const { tenant, type, actor, id, at } = event;
      const payload = event.seq === 2 ? { ...event.payload, displayName: "forged" } : event.payload;
      rewritten.push(linkEvent({ tenant, type, actor, payload }, rewritten.at(-1), id, at));
    }
    const signer = createJoseTokenSigner();
    const { kid, alg } = keptKey();
    const own = await signer.generateKey(alg === "EdDSA" ? "EdDSA" : "ES256");
    const head = rewritten[checkpointSeq - 1];
    const checkpoint = await signer.sign(
      { iss: "https://mfa.test", chain: "tenant:acme", seq: checkpointSeq, hash: head?.hash },
      { kid, alg: alg === "EdDSA" ? "EdDSA" : "ES256", privateJwk: own.privateJwk },
      "tenant-mfa-audit-checkpoint+jwt",
    );
    const swapped = { ...own.publicJwk, kid, alg, use: "sig" };
    const result = await runCli([
      "audit",
      "check-export",
      file("rewritten-2.jsonl", jsonLines(rewritten)),
      "--checkpoint",
      file("swapped-checkpoint.json", JSON.stringify({ checkpoint, key: swapped })),
    ]);
    expect(result.stdout).toContain(`signed by key ${kid}, thumbprint ${thumbprintOf(swapped)})`);
    expect(thumbprintOf(swapped)).not.toBe(thumbprintOf(keptKey()));
  });

  it("finds a receipt edited after its event recorded it", async () => {
    const edited = receipts.map((receipt, i) =>
      i === 1 ? { ...receipt, principal: "mallory" } : receipt,
    );
    const result = await runCli([
      "audit",
      "check-export",
      file("export.jsonl", exportText),
      "--receipts",
      file("edited-receipts.jsonl", jsonLines(edited)),
    ]);
    expect(result.stdout).toMatch(
      /^BROKEN: chain tenant:acme, event \d+ \(line \d+\): receipt_mismatch$/m,
    );
    expect(result.exitCode).toBe(1);
  });

  it("checks every receipt given: an edited one is found beside a genuine one of its id", async () => {
    // The same receipt fetched twice, once edited: the operator served two versions of it.
    const edited = { ...receipts[1], principal: "mallory" };
    for (const given of [
      [...receipts, edited],
      [edited, ...receipts],
    ]) {
      const result = await runCli([
        "audit",
        "check-export",
        file("export-3.jsonl", exportText),
        "--receipts",
        file("two-versions.jsonl", jsonLines(given)),
      ]);
      expect(result.stdout).toMatch(
        /^BROKEN: chain tenant:acme, event \d+ \(line \d+\): receipt_mismatch$/m,
      );
      expect(result.exitCode).toBe(1);
    }
    // The same receipt given twice as it is is checked once.
    const twice = await runCli([
      "audit",
      "check-export",
      file("export-4.jsonl", exportText),
      "--receipts",
      file("twice.jsonl", jsonLines([...receipts, receipts[0]])),
    ]);
    expect(twice.stdout).toContain("; 3 receipt(s) match their events");
    expect(twice.exitCode).toBe(0);
  });

  it("does not pass a receipt given that no event of the export could record", async () => {
    // A receipt no event records, its tenant changed: it is not the chain's tenant's to record.
    const elsewhere = { ...receipts[0], id: "dec_elsewhere", tenant: "globex" };
    const result = await runCli([
      "audit",
      "check-export",
      file("export-5.jsonl", exportText),
      "--receipts",
      file("elsewhere.jsonl", jsonLines([...receipts, elsewhere])),
    ]);
    expect(result.stdout).toBe(
      "UNCHECKED: receipt dec_elsewhere: of another tenant than chain tenant:acme's, whose events record none of it\n" +
        `NOT VERIFIED: chain tenant:acme, events 1–${String(events.length)} link up; 3 receipt(s) match their events, but 1 receipt(s) given are not checked\n`,
    );
    expect(result.exitCode).toBe(1);
  });

  it("says how many receipts were compared by tenant and outcome only, their events keeping no digest", () => {
    const result: ExportedChainCheck = {
      ok: true,
      chain: "tenant:acme",
      first: 1,
      last: 9,
      events: 9,
      receipts: { checked: 5, unbound: 2, unrecorded: [], unchecked: [] },
    };
    expect(describeExportCheck(result)).toEqual([
      "ok: chain tenant:acme, events 1–9 (9) verified; 5 receipt(s) match their events, 2 of them by tenant and outcome only (recorded before receipts were bound, their events keep no digest)",
    ]);
  });

  it("reads files saved with a byte order mark, as some editors and shells write them", async () => {
    // RFC 8259 §8.1: a parser may ignore one. It is no part of any line: taken as text, the
    // first event was reported broken, and the checkpoint file not JSON.
    const bom = "\uFEFF";
    const result = await runCli([
      "audit",
      "check-export",
      file("bom.jsonl", `${bom}${exportText.replaceAll("\n", "\r\n")}`),
      "--checkpoint",
      file("bom-checkpoint.json", `${bom}${readFileSync(checkpointFile, "utf8")}`),
      "--receipts",
      file("bom-receipts.jsonl", `${bom}${jsonLines(receipts)}`),
    ]);
    expect(result.stdout).toMatch(/^ok: chain tenant:acme, events 1–\d+ /);
    expect(result.exitCode).toBe(0);
  });

  it("says an export that ended with a problem is cut short, and where to go on from", async () => {
    const cut = `${jsonLines(events.slice(0, 3))}${JSON.stringify({ problem: { code: "audit.chain_damaged" } })}\n`;
    const result = await runCli(["audit", "check-export", file("cut.jsonl", cut)]);
    expect(result.stdout).toContain(
      "CUT SHORT: the export ended after event 3 with a problem (audit.chain_damaged): export the rest from after=3, append it to this file and check again",
    );
    expect(result.exitCode).toBe(1);
    const rest = (
      await t.call("GET", "/v1/tenants/acme/audit?format=jsonl&after=3", {
        key: await t.key(["tenant_auditor"], ["acme"]),
      })
    ).body;
    const mended = await runCli(["audit", "check-export", file("mended.jsonl", cut + rest)]);
    expect(mended.stdout).toMatch(/^ok: chain tenant:acme, events 1–\d+ /);
    expect(mended.exitCode).toBe(0);
  });

  it("says a checkpoint after where the export was cut short is not reached, not before it", async () => {
    const cut = `${jsonLines(events.slice(0, 3))}${JSON.stringify({ problem: { code: "audit.chain_damaged" } })}\n`;
    const result = await runCli([
      "audit",
      "check-export",
      file("cut-2.jsonl", cut),
      "--checkpoint",
      checkpointFile,
    ]);
    expect(result.stdout).toBe(
      `NOT CONFIRMED: the checkpoint's event ${String(checkpointSeq)} is past where the export was cut short\n` +
        "CUT SHORT: the export ended after event 3 with a problem (audit.chain_damaged): export the rest from after=3, append it to this file and check again\n",
    );
    expect(result.exitCode).toBe(1);
  });

  it("refuses a checkpoint that does not verify with its kept key, or comes without one", async () => {
    const taken = JSON.parse(readFileSync(checkpointFile, "utf8")) as {
      checkpoint: string;
      key: Record<string, string>;
    };
    const [header, , signature] = taken.checkpoint.split(".");
    const claims = Buffer.from(
      JSON.stringify({
        iss: "https://mfa.test",
        chain: "tenant:acme",
        seq: 1,
        hash: "0".repeat(64),
      }),
    ).toString("base64url");
    const forgedFile = file(
      "forged-checkpoint.json",
      JSON.stringify({ ...taken, checkpoint: `${header ?? ""}.${claims}.${signature ?? ""}` }),
    );
    const exportFile = file("export-2.jsonl", exportText);
    const forged = await runCli(["audit", "check-export", exportFile, "--checkpoint", forgedFile]);
    expect(forged.stderr).toContain("does not verify");
    expect(forged.exitCode).toBe(2);
    const bare = file("bare-checkpoint.json", JSON.stringify({ checkpoint: taken.checkpoint }));
    const keyless = await runCli(["audit", "check-export", exportFile, "--checkpoint", bare]);
    expect(keyless.stderr).toContain("holds no checkpoint with its key");
    expect(keyless.exitCode).toBe(2);
  });

  it("does not pass an export that starts after the checkpoint's event", async () => {
    const later = file("later.jsonl", jsonLines(events.filter((e) => e.seq > checkpointSeq)));
    const result = await runCli(["audit", "check-export", later, "--checkpoint", checkpointFile]);
    expect(result.stdout).toBe(
      `NOTE: the export starts at event ${String(checkpointSeq + 1)}: the link before it is not in the file\n` +
        `NOT CONFIRMED: the checkpoint's event ${String(checkpointSeq)} is before the export's first\n` +
        `NOT VERIFIED: chain tenant:acme, events ${String(checkpointSeq + 1)}–${String(events.length)} link up, but the checkpoint is not confirmed\n`,
    );
    expect(result.exitCode).toBe(1);
  });

  it("does not pass an empty export, as a failed download leaves one", async () => {
    const result = await runCli(["audit", "check-export", file("empty.jsonl", "")]);
    expect(result.stdout).toBe("NOT VERIFIED: the export holds no event\n");
    expect(result.exitCode).toBe(1);
  });

  it("stops at a line longer than any event, as endless input without a newline brings", async () => {
    // /dev/zero, or a stream that never sends a newline: the line was gathered whole, until the
    // process ran out of string length (an uncaught RangeError) or memory.
    async function* endless() {
      const chunk = "a".repeat(1024 * 1024);
      for (;;) {
        await new Promise(setImmediate);
        yield chunk;
      }
    }
    const result = await runCli(
      ["audit", "check-export", "-"],
      {},
      { text: endless(), isTTY: false },
    );
    expect(result.stdout).toMatch(
      /^BROKEN: chain \(none\), event 1 \(line 1\): not_an_event\n\(0 event\(s\) verified before the first broken link\)\nNOTE: an export holds one event per line/,
    );
    expect(result.exitCode).toBe(1);
  }, 30_000);

  it("refuses a checkpoint file longer than any checkpoint, such as /dev/zero", async () => {
    const result = await runCli([
      "audit",
      "check-export",
      file("export-6.jsonl", exportText),
      "--checkpoint",
      "/dev/zero",
    ]);
    expect(result.stderr).toContain("the checkpoint file /dev/zero is longer than");
    expect(result.exitCode).toBe(2);
  }, 30_000);

  it("says a page of the audit API is no export, and how to export", async () => {
    const auditor = await t.key(["tenant_auditor"], ["acme"]);
    const page = await t.call("GET", "/v1/tenants/acme/audit", { key: auditor });
    const result = await runCli(["audit", "check-export", file("page.json", page.body)]);
    expect(result.stderr).toContain(
      "holds a page of the audit API, not an export: export the chain with ?format=jsonl",
    );
    expect(result.stdout).toBe("");
    expect(result.exitCode).toBe(2);
  });

  it("says what an export's lines are when its first is no event, as a pretty-printed file has", async () => {
    const pretty = JSON.stringify(events[0], null, 2);
    const result = await runCli(["audit", "check-export", file("pretty.json", pretty)]);
    expect(result.stdout).toBe(
      "BROKEN: chain (none), event 1 (line 1): not_an_event\n" +
        "(0 event(s) verified before the first broken link)\n" +
        "NOTE: an export holds one event per line, as GET …/audit?format=jsonl writes it: a file whose first line is no event may have been reformatted\n",
    );
    expect(result.exitCode).toBe(1);
  });

  it("refuses a checkpoint that does not verify in the auditor's terms, not the server's", async () => {
    // The genuine checkpoint, kept beside a key of the same kind that did not sign it.
    const taken = JSON.parse(readFileSync(checkpointFile, "utf8")) as {
      checkpoint: string;
      key: { kid: string };
    };
    const { alg } = decodeProtectedHeader(taken.checkpoint) as { alg: string };
    const other = await generateKeyPair(alg, {
      extractable: true,
      ...(alg === "EdDSA" ? { crv: "Ed25519" } : {}),
    });
    const forged = file(
      "other-key-checkpoint.json",
      JSON.stringify({
        ...taken,
        key: { ...(await exportJWK(other.publicKey)), kid: taken.key.kid, alg },
      }),
    );
    const result = await runCli([
      "audit",
      "check-export",
      file("export-7.jsonl", exportText),
      "--checkpoint",
      forged,
    ]);
    expect(result.stderr).toContain(
      `the checkpoint in ${forged} does not verify with the key kept beside it: it was altered, or signed with another key`,
    );
    expect(result.stderr).not.toContain("send it as you received it");
    expect(result.exitCode).toBe(2);
  });

  it("names a file it cannot read", async () => {
    const result = await runCli(["audit", "check-export", join(folder, "missing.jsonl")]);
    expect(result.stderr).toContain("cannot read the export");
    expect(result.stderr).toContain("ENOENT");
    expect(result.exitCode).toBe(2);
  });
});

// A receipts file comes from the operator: one whose decision nests thousands of levels deep
// parses (JSON.parse reads any depth) and then overflowed the stack of the digest's
// JSON.stringify, and the check failed with a RangeError instead of saying what is wrong.
describe("tenant-mfa audit check-export, given a receipt nested deeper than any", () => {
  it("refuses the receipts file as unusable (exit 2), naming the receipt", async () => {
    const deep = "[".repeat(200_000) + "]".repeat(200_000);
    const lines = receipts.map((receipt, i) =>
      i === 1
        ? JSON.stringify(receipt).replace('"decision":{', `"decision":{"deep":${deep},`)
        : JSON.stringify(receipt),
    );
    const receiptsFile = file("deep-receipts.jsonl", `${lines.join("\n")}\n`);
    const result = await runCli([
      "audit",
      "check-export",
      file("intact-for-deep.jsonl", exportText),
      "--receipts",
      receiptsFile,
    ]);
    expect(result.stderr).toContain(`receipt 2 of ${receiptsFile}`);
    expect(result.stdout).toBe("");
    expect(result.exitCode).toBe(2);
  });
});

// A receipts file comes from the operator: a receipt giving a member twice (two `outcome`s) was
// checked as JSON.parse reads it, the last one counting, while a reader that keeps the first (as
// many do) takes the other outcome from the very receipt the check passed. Such a file is
// refused as unusable, naming the receipt and its member, however the member name is spelled.
describe("tenant-mfa audit check-export, given a receipt that gives a member twice", () => {
  /** Checks the intact export with the receipts `text`, saved as `name`; the run and the file. */
  async function checkReceipts(name: string, text: string) {
    const receiptsFile = file(name, text);
    const run = await runCli([
      "audit",
      "check-export",
      file(`export-for-${name}.jsonl`, exportText),
      "--receipts",
      receiptsFile,
    ]);
    return { ...run, receiptsFile };
  }

  it("refuses a receipts file of lines, naming the line and the member (exit 2)", async () => {
    for (const spelled of ["outcome", "outc\\u006fme"]) {
      // Receipt 2 gives `outcome` first as allow, then as the service wrote it.
      const lines = receipts.map((receipt, i) =>
        i === 1
          ? JSON.stringify(receipt).replace(/^\{/, `{"${spelled}":"allow",`)
          : JSON.stringify(receipt),
      );
      const result = await checkReceipts("doubled.jsonl", `\n${lines.join("\n")}\n`);
      expect(result.stderr).toContain(
        // The blank first line counts: the line named is the file's.
        `line 3 of the receipts file ${result.receiptsFile} gives the member "outcome" twice:`,
      );
      expect(result.stdout).toBe("");
      expect(result.exitCode).toBe(2);
    }
  });

  it("refuses a receipts array, naming the receipt, with a member doubled deep inside it", async () => {
    const lines = receipts.map((receipt, i) =>
      i === 2
        ? JSON.stringify(receipt).replace('"decision":{', '"decision":{"outcome":"allow",')
        : JSON.stringify(receipt),
    );
    const result = await checkReceipts("doubled.json", `[\n  ${lines.join(",\n  ")}\n]\n`);
    expect(result.stderr).toContain(
      `receipt 3 of the receipts file ${result.receiptsFile} gives the member "outcome" twice (in decision)`,
    );
    expect(result.stdout).toBe("");
    expect(result.exitCode).toBe(2);
  });

  it("reads one name in different objects, as the service writes receipts, in lines or pretty-printed", async () => {
    const lines = receipts.map((receipt) => JSON.stringify(receipt));
    for (const [name, text] of [
      ["lines.jsonl", `${lines.join("\n")}\n`],
      ["blank-lines.jsonl", `\n${lines.join("\n\n")}\n\n`],
      ["pretty.json", JSON.stringify(receipts, null, 2)],
    ] as const) {
      const result = await checkReceipts(name, text);
      expect(result.stdout, name).toContain("3 receipt(s) match their events");
      expect(result.exitCode, name).toBe(0);
    }
  });
});
