/**
 * Threat: an auditor who must take the service's word for its own audit log. DESIGN: auditors
 * verify the chain and the receipts "without trusting the operator", so what they need to do so
 * is documented (README, "Audit evidence") and enough: this test follows that text, with its own
 * code (not the service's), over what the API hands an auditor: the JSON Lines export, a signed
 * checkpoint with its key, and the receipts.
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
  auditor = await t.key(["tenant_auditor"], ["acme"]);
  const response = await t.call("GET", "/v1/tenants/acme/audit?format=jsonl", { key: auditor });
  exported = response.body
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line) as Exported);
});
afterAll(() => t.close());

describe("an auditor checks the export with the README alone", () => {
  it("recomputes every event's hash from the members the README names", () => {
    const members = documentedMembers();
    expect(exported.length).toBeGreaterThan(5);
    for (const event of exported) {
      // The README names every member but the hash itself.
      expect(Object.keys(event).sort()).toEqual([...members, "hash"].sort());
      const hashed = Object.fromEntries(members.map((m) => [m, event[m]]));
      expect(sha256(sortedJson(hashed)), `event ${String(event.seq)}`).toBe(event.hash);
    }
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
    const taken = (await t.call("GET", "/v1/audit/checkpoint?tenant=acme", { key: auditor })).json<{
      checkpoint: string;
      key: JWK & { alg: string };
    }>();
    const { payload, protectedHeader } = await compactVerify(
      taken.checkpoint,
      await importJWK(taken.key, taken.key.alg),
    );
    expect(protectedHeader.typ).toBe("tenant-mfa-audit-checkpoint+jwt");
    const claims = JSON.parse(new TextDecoder().decode(payload)) as { seq: number; hash: string };
    expect(exported.find((e) => e.seq === claims.seq)?.hash).toBe(claims.hash);
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
