/**
 * Threat: an auditor who must take the service's word for its own audit log. DESIGN: auditors
 * verify the chain and the receipts "without trusting the operator", so what they need to do so
 * is documented (README, "Audit evidence") and enough: this test follows that text, with its own
 * code (not the service's), over what the API hands an auditor: the JSON Lines export, a signed
 * checkpoint with its key, and the receipts. The same for the platform chain, whose mandates bind
 * every tenant: checked only by the server's own verify, they would rest on the operator's word.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { compactVerify, importJWK, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestServer, type TestServer } from "../test-support/open-test-server.js";

const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8").replace(
  /\s+/g,
  " ",
);

/** The members an event's hash covers, as the README names them. */
function documentedMembers(): string[] {
  const sentence = /each event's `hash` is the SHA-256[^(]*\(([^)]*)\)/.exec(readme);
  if (sentence?.[1] === undefined) throw new Error("README does not say what an event hashes");
  return [...sentence[1].matchAll(/`(\w+)`/g)].map((m) => m[1] ?? "");
}

/** JSON with object keys sorted at every depth and no white space, as the README describes it. */
function sortedJson(value: unknown): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : typeof v === "object" && v !== null
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
          )
        : v;
  return JSON.stringify(sorted(value));
}

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

type Exported = Record<string, unknown> & { seq: number; hash: string; prevHash: string };

/** An event's hash, recomputed from the members the README names. */
function recomputedHash(event: Exported): string {
  return sha256(sortedJson(Object.fromEntries(documentedMembers().map((m) => [m, event[m]]))));
}

/**
 * The auditor's own check of an export, as the README describes a chain: the first thing wrong,
 * or nothing. Every event holds the members the README names and its hash; `seq` runs 1, 2, 3…
 * without a gap; the first `prevHash` is 64 zeros and each later one the hash before; each hash
 * is the SHA-256 of the sorted JSON of the other members.
 */
function firstProblem(events: readonly Exported[]): string | undefined {
  const members = [...documentedMembers(), "hash"].sort();
  for (const [i, event] of events.entries()) {
    const where = `event ${String(i + 1)}`;
    if (Object.keys(event).sort().join() !== members.join()) return `${where}: members`;
    if (event.seq !== i + 1) return `${where}: seq ${String(event.seq)}`;
    if (event.prevHash !== (i === 0 ? "0".repeat(64) : events[i - 1]?.hash)) {
      return `${where}: prevHash`;
    }
    if (recomputedHash(event) !== event.hash) return `${where}: hash`;
  }
  return undefined;
}

/** Parses a JSON Lines export. */
const parseLines = (body: string): Exported[] =>
  body
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line) as Exported);

interface Taken {
  checkpoint: string;
  key: JWK & { alg: string };
}

/**
 * Checks a checkpoint with jose and the key kept beside it, as the README says (its `typ` too);
 * returns what it states.
 */
async function openCheckpoint(taken: Taken): Promise<{ chain: string; seq: number; hash: string }> {
  const { payload, protectedHeader } = await compactVerify(
    taken.checkpoint,
    await importJWK(taken.key, taken.key.alg),
  );
  expect(protectedHeader.typ).toBe("tenant-mfa-audit-checkpoint+jwt");
  return JSON.parse(new TextDecoder().decode(payload)) as {
    chain: string;
    seq: number;
    hash: string;
  };
}

/** Whether an export still holds the event a checkpoint names, with the hash it states. */
const holds = (events: readonly Exported[], claims: { seq: number; hash: string }) =>
  events.find((e) => e.seq === claims.seq)?.hash === claims.hash;

/**
 * `events` rewritten from the event at `seq` on, each hash and `prevHash` recomputed after the
 * change: what someone who can write the store leaves, and which links up.
 */
function rewritten(
  events: readonly Exported[],
  seq: number,
  edit: (event: Exported) => Exported,
): Exported[] {
  const out: Exported[] = [];
  for (const event of events) {
    const changed = event.seq === seq ? edit(structuredClone(event)) : { ...event };
    if (event.seq >= seq) {
      changed.prevHash = out.at(-1)?.hash ?? "0".repeat(64);
      changed.hash = recomputedHash(changed);
    }
    out.push(changed);
  }
  return out;
}

let t: TestServer;
let auditor: string;
let exported: Exported[];

beforeAll(async () => {
  t = await openTestServer();
  const admin = t.adminKey;
  await t.call("POST", "/v1/tenants", {
    key: admin,
    body: { id: "acme", name: 'Acme «Ünïcode» "Ltd"' },
  });
  const principal = encodeURIComponent("Zoë 山田");
  await t.call("PUT", `/v1/tenants/acme/principals/${principal}`, {
    key: admin,
    body: { population: "direct", displayName: "Zoë 🙂" },
  });
  await t.call("PUT", "/v1/tenants/acme/policy", {
    key: admin,
    headers: { "if-match": '"1"' },
    body: {
      policy: { posture: "platform_mfa", riskRules: { high: { phishingResistant: true } } },
      rationale: 'Board decision: tab\there, quote " and backslash \\',
    },
  });
  const now = t.clock.now().getTime();
  const requested = await t.call("POST", "/v1/tenants/acme/exemptions", {
    key: await t.key(["tenant_admin"], ["acme"]),
    body: {
      principal: "Zoë 山田",
      category: "temporary_access",
      justification: "Lost phone",
      owner: "it",
      expiresAt: new Date(now + 86_400_000).toISOString(),
      reviewAt: new Date(now + 3_600_000).toISOString(),
    },
  });
  await t.call(
    "POST",
    `/v1/tenants/acme/exemptions/${requested.json<{ id: string }>().id}/approve`,
    {
      key: await t.key(["exemption_approver"], ["acme"]),
    },
  );
  const service = await t.key(["platform_service"], ["acme"]);
  for (const risk of ["low", "high"]) {
    await t.call("POST", "/v1/tenants/acme/decisions", {
      key: service,
      body: {
        principal: { id: "Zoë 山田" },
        risk,
        evidence: {
          events: [{ method: "password", source: "platform", at: t.clock.now().toISOString() }],
        },
      },
    });
  }
  // The mandates that bind every tenant, in the platform chain: made, tightened, retired.
  const mandate = { title: "Uplift", scope: { tenants: "all" }, require: { minAal: 2 } };
  await t.call("POST", "/v1/platform/mandates", {
    key: admin,
    body: { id: "uplift", mandate: { ...mandate, exemptible: true }, rationale: "Phishing «wave»" },
  });
  await t.call("PUT", "/v1/platform/mandates/uplift", {
    key: admin,
    headers: { "if-match": '"1"' },
    body: { mandate: { ...mandate, exemptible: false }, rationale: "No exemptions" },
  });
  await t.call("POST", "/v1/platform/mandates", {
    key: admin,
    body: { id: "passkeys", mandate: { ...mandate, exemptible: true }, rationale: "Trial" },
  });
  await t.call("POST", "/v1/platform/mandates/passkeys/retire", {
    key: admin,
    headers: { "if-match": '"1"' },
    body: { rationale: "Trial over" },
  });
  auditor = await t.key(["tenant_auditor"], ["acme"]);
  const response = await t.call("GET", "/v1/tenants/acme/audit?format=jsonl", { key: auditor });
  exported = parseLines(response.body);
});
afterAll(() => t.close());

describe("an auditor checks the export with the README alone", () => {
  it("recomputes every event's hash from the members the README names", () => {
    const members = documentedMembers();
    expect(exported.length).toBeGreaterThan(5);
    for (const event of exported) {
      // The README names every member but the hash itself.
      expect(Object.keys(event).sort()).toEqual([...members, "hash"].sort());
      expect(recomputedHash(event), `event ${String(event.seq)}`).toBe(event.hash);
    }
    expect(firstProblem(exported)).toBeUndefined();
  });

  it("links the events as the README says", () => {
    expect(readme.includes("its first event's `prevHash` is 64 zeros"), "README: genesis").toBe(
      true,
    );
    expect(exported.map((e) => e.seq)).toEqual(exported.map((_, i) => i + 1));
    expect(exported[0]).toMatchObject({ type: "tenant.created", prevHash: "0".repeat(64) });
    for (let i = 1; i < exported.length; i++) {
      expect(exported[i]?.prevHash).toBe(exported[i - 1]?.hash);
    }
  });

  it("checks a signed checkpoint against the export with any JOSE library and the key kept with it", async () => {
    const taken = await t.call("GET", "/v1/audit/checkpoint?tenant=acme", { key: auditor });
    const claims = await openCheckpoint(taken.json<Taken>());
    expect(claims.chain).toBe("tenant:acme");
    expect(holds(exported, claims)).toBe(true);
  });

  it("recomputes each receipt's digest as the README describes it, from the receipt served", async () => {
    const recorded = exported.filter((e) => e["type"] === "decision.recorded");
    expect(recorded).toHaveLength(2);
    for (const event of recorded) {
      const payload = event["payload"] as { decision: string; receipt: string };
      const receipt = (
        await t.call("GET", `/v1/decisions/${payload.decision}`, { key: auditor })
      ).json<Record<string, unknown>>();
      const fields = [
        "id",
        "tenant",
        "principal",
        "outcome",
        "createdAt",
        "decision",
        "inputSummary",
      ];
      expect(`sha256:${sha256(JSON.stringify(fields.map((f) => receipt[f])))}`).toBe(
        payload.receipt,
      );
    }
  });
});

describe("an auditor checks the platform chain's export with the README alone", () => {
  let platform: Exported[];
  let claims: { chain: string; seq: number; hash: string };

  beforeAll(async () => {
    for (const asked of ["`GET /v1/platform/audit`", "without `tenant`"]) {
      expect(readme.includes(asked), `README says how to ask: ${asked}`).toBe(true);
    }
    // The checkpoint first, then the export: the export covers the event it names.
    const taken = await t.call("GET", "/v1/audit/checkpoint", { key: t.adminKey });
    expect(taken.statusCode, taken.body).toBe(200);
    claims = await openCheckpoint(taken.json<Taken>());
    const response = await t.call("GET", "/v1/platform/audit?format=jsonl", { key: t.adminKey });
    expect(response.headers["content-type"]).toMatch(/^application\/x-ndjson/);
    platform = parseLines(response.body);
  });

  it("recomputes every hash and link, and finds the mandates that bind every tenant", () => {
    expect(firstProblem(platform)).toBeUndefined();
    expect(platform.every((e) => e["chain"] === "platform" && e["tenant"] === null)).toBe(true);
    expect(platform.map((e) => e["type"])).toEqual(
      expect.arrayContaining([
        "tenant.created",
        "mandate.created",
        "mandate.updated",
        "mandate.retired",
      ]),
    );
    const uplift = platform.filter((e) => (e["payload"] as { id?: string }).id === "uplift");
    expect(uplift.map((e) => e["payload"])).toMatchObject([
      { version: 1, mandate: { exemptible: true, require: { minAal: 2 } } },
      { version: 2, mandate: { exemptible: false }, rationale: "No exemptions" },
    ]);
  });

  it("checks a signed checkpoint of the platform chain against the export", () => {
    expect(claims.chain).toBe("platform");
    expect(holds(platform, claims)).toBe(true);
  });

  it("catches a tampered export: an edited, a deleted or a rewritten mandate", () => {
    const updated = platform.find((e) => e["type"] === "mandate.updated");
    if (updated === undefined) throw new Error("no mandate.updated event");
    const loosen = (event: Exported): Exported => {
      (event["payload"] as { mandate: { exemptible: boolean } }).mandate.exemptible = true;
      return event;
    };
    // Edited in place: its hash no longer matches.
    const edited = platform.map((e) => (e.seq === updated.seq ? loosen(structuredClone(e)) : e));
    expect(firstProblem(edited)).toBe(`event ${String(updated.seq)}: hash`);
    // Deleted: the sequence has a gap.
    const deleted = platform.filter((e) => e.seq !== updated.seq);
    expect(firstProblem(deleted)).toBe(
      `event ${String(updated.seq)}: seq ${String(updated.seq + 1)}`,
    );
    // Rewritten, every hash after it recomputed: the chain links up, and only the checkpoint
    // taken before tells, as the README says.
    const recomputed = rewritten(platform, updated.seq, loosen);
    expect(firstProblem(recomputed)).toBeUndefined();
    expect(updated.seq).toBeLessThanOrEqual(claims.seq);
    expect(holds(recomputed, claims)).toBe(false);
  });
});
