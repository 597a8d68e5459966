// Threat: a flood of refusals that leaves no trace because the server stopped. Past the audit
// budget (100 refusals a minute per tenant and IdP on each instance), federation refusals are only
// counted, and the count is appended as `federation.refusals_suppressed` when the minute ends.
// An attacker who floods an IdP's endpoints just before a deployment (or who can make the
// operator restart the server) had every refusal past the budget of that minute forgotten: the
// count lived in memory only. Closing the server (its SIGTERM path: stop accepting, let requests
// finish, close the application, close the store) now appends the counts of the minutes under way
// first, `to` the close time, in the same chain, which still verifies.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HTTPMethods } from "fastify";
import { afterEach, describe, expect, it, vi } from "vitest";
import { chainOf } from "./app/audit/audit-chain.js";
import { REFUSALS_RECORDED_PER_MINUTE } from "./app/federation/refusal-budget.js";
import { createProgram } from "./cli/program.js";
import { loadConfig } from "./config/load-config.js";
import { must, registerSamlTenant } from "./http/test-support/saml-federation.js";
import { startServer } from "./main.js";
import { openStore } from "./storage/open-store.js";
import { TestIdp } from "./verifiers/saml/test-support/test-idp.js";

vi.setConfig({ testTimeout: 60_000 });

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

/** `tenant-mfa audit verify --db … --json`, as an auditor runs it; its JSON result. */
async function auditVerify(db: string): Promise<{ ok: boolean; events: number }> {
  let stdout = "";
  await createProgram({
    env: {},
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: () => undefined },
    setExitCode: () => undefined,
  }).parseAsync(["node", "tenant-mfa", "audit", "verify", "--db", db, "--json"]);
  return JSON.parse(stdout) as { ok: boolean; events: number };
}

describe("closing the server", () => {
  it("appends the count of the refusals past the audit budget of the minute under way", async () => {
    const folder = mkdtempSync(join(tmpdir(), "tenant-mfa-close-"));
    folders.push(folder);
    const db = `sqlite:${join(folder, "store.db")}`;
    let adminKey = "";
    const running = await startServer(
      {
        ...loadConfig({ env: {}, overrides: { db } }),
        port: 0,
        logLevel: "silent" as const,
      },
      {
        handleSignals: false,
        seed: async (opened) => {
          adminKey = (await opened.bootstrap({ name: "operator" })).secret;
        },
      },
    );
    const call = (
      method: HTTPMethods,
      url: string,
      options: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
    ) =>
      running.server.inject({
        method,
        url,
        headers: {
          ...(options.key === undefined ? {} : { authorization: `Bearer ${options.key}` }),
          ...options.headers,
        },
        ...(options.body === undefined ? {} : { payload: options.body as Record<string, unknown> }),
      });
    let closed = false;
    try {
      await registerSamlTenant(
        { call, adminKey },
        new TestIdp({ entityId: "https://idp.corp.example/saml" }),
        "acme",
        { posture: "idp_mfa", returnUrls: ["https://app.acme.example/signed-in"] },
      );
      // Forged answers from many addresses (each its own /64): the budget's worth recorded one
      // by one, the rest counted.
      const sent = REFUSALS_RECORDED_PER_MINUTE + 20;
      for (let n = 0; n < sent; n++) {
        must(
          await running.server.inject({
            method: "POST",
            url: "/t/acme/idps/corp/saml/acs",
            remoteAddress: `2001:db8:${n.toString(16)}::1`,
            headers: { "content-type": "application/x-www-form-urlencoded" },
            payload: new URLSearchParams({
              SAMLResponse: Buffer.from("<not-a-response/>").toString("base64"),
            }).toString(),
          }),
          400,
        );
      }
      const beforeClose = Date.now();
      await running.close();
      closed = true;
      const afterClose = Date.now();

      const store = await openStore(db, { readOnly: true });
      const counts = await store
        .read((r) =>
          r.audit.read(chainOf("acme"), {
            afterSeq: 0,
            limit: 10,
            filter: { type: "federation.refusals_suppressed" },
          }),
        )
        .finally(() => store.close());
      expect(counts.map((event) => event.payload)).toMatchObject([{ idp: "corp", count: 20 }]);
      const to = Date.parse(String(counts[0]?.payload.to));
      // The minute is cut at the close, not at its end a minute later.
      expect(to).toBeGreaterThanOrEqual(beforeClose);
      expect(to).toBeLessThanOrEqual(afterClose);
      expect(await auditVerify(db)).toMatchObject({ ok: true });
    } finally {
      if (!closed) await running.close();
    }
  });
});
