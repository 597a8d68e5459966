// Threat: a row of a tenant's tables altered outside the service, its JSON text no longer JSON
// (a tenant policy version, an IdP, what an IdP was seen proving, a hosted flow, a browser
// session, a federation request or held answer, a WebAuthn credential or settings). Reading it
// threw a bare SyntaxError, which `transact` reports as `503 store.unavailable` ("cannot reach
// its store"): still refused, but the operator is sent to the network and clients retry forever.
// Every read of such a row throws `UnreadableRecord` naming it by table and key (never by what it
// holds: a federation request by the SHA-256 of its id, which is the sign-in's state), as the
// tables that `audit verify` reads already did. On SQLite and on PostgreSQL.
import { createHash } from "node:crypto";
import { afterEach, expect, it } from "vitest";
import {
  UnreadableRecord,
  type DamagedRow,
  type Repositories,
  type Store,
} from "../../app/ports.js";
import { describeOnEachStore } from "../../app/test-support/each-store.js";
import { tamperStore } from "../../app/test-support/tampered-world.js";
import { heldAnswer, pending, samlIdp } from "../contract/describe-federation.js";
import { minimalFlow, session } from "../contract/describe-flows.js";
import { credential, settings } from "../contract/describe-webauthn.js";
import { at, fullPolicyVersion, minimalPrincipal, tenantRecord } from "../contract/fixtures.js";
import { openStore } from "../open-store.js";

/** A damaged column: how it is written, and every read of it. */
interface DamagedColumn {
  readonly table: string;
  readonly column: string;
  /** Selects the one row to damage. */
  readonly where: string;
  readonly row: DamagedRow;
  readonly write: (r: Repositories) => Promise<unknown>;
  readonly reads: Readonly<Record<string, (r: Repositories) => Promise<unknown>>>;
}

const TENANT = "acme";
const flow = { ...minimalFlow(TENANT), codeHash: "c0de".repeat(16) };
const browser = {
  ...session(TENANT),
  events: [
    {
      method: "federated" as const,
      source: "idp" as const,
      at: at(5),
      tenant: TENANT,
      idp: "corp",
      assurance: { aal: 2 as const, phishingResistant: false },
      claims: { acr: "https://refeds.org/profile/mfa" },
    },
  ],
};
const request = pending(TENANT);
const answer = heldAnswer(TENANT);
const passkey = credential(TENANT, "alice");

const COLUMNS: readonly DamagedColumn[] = [
  {
    table: "policy_versions",
    column: "policy",
    where: `tenant = '${TENANT}' AND version = 2`,
    row: { table: "policy_versions", id: TENANT, version: 2 },
    write: (r) => r.policies.insert(fullPolicyVersion(TENANT, 2)),
    reads: {
      current: (r) => r.policies.current(TENANT),
      get: (r) => r.policies.get(TENANT, 2),
      history: (r) => r.policies.history(TENANT, { limit: 10 }),
    },
  },
  {
    table: "idps",
    column: "document",
    where: `tenant = '${TENANT}' AND id = 'corp'`,
    row: { table: "idps", tenant: TENANT, id: "corp" },
    write: (r) => r.idps.put(samlIdp(TENANT, "corp")),
    reads: { get: (r) => r.idps.get(TENANT, "corp"), list: (r) => r.idps.list(TENANT) },
  },
  {
    table: "idp_observations",
    column: "unmapped_seen",
    where: `tenant = '${TENANT}' AND idp = 'corp'`,
    row: { table: "idp_observations", tenant: TENANT, id: "corp" },
    write: async (r) => {
      await r.idps.put(samlIdp(TENANT, "corp"));
      await r.idps.observe({
        tenant: TENANT,
        idp: "corp",
        provingMfa: true,
        unmappedSeen: ["urn:custom"],
        updatedAt: at(1),
      });
    },
    reads: { observation: (r) => r.idps.observation(TENANT, "corp") },
  },
  {
    table: "flows",
    column: "document",
    where: `id = '${flow.id}'`,
    row: { table: "flows", id: flow.id },
    write: (r) => r.flows.insert(flow),
    reads: {
      get: (r) => r.flows.get(TENANT, flow.id),
      findByCodeHash: (r) => r.flows.findByCodeHash(flow.codeHash),
      unspentOf: (r) => r.flows.unspentOf(TENANT, flow.principal),
    },
  },
  {
    table: "browser_sessions",
    column: "events",
    where: `id = '${browser.id}'`,
    row: { table: "browser_sessions", id: browser.id },
    write: (r) => r.browserSessions.put(browser),
    reads: {
      get: (r) => r.browserSessions.get(TENANT, browser.principal, browser.browserHash),
      removeIdp: (r) => r.browserSessions.removeIdp(TENANT, "corp"),
    },
  },
  {
    table: "federation_requests",
    column: "document",
    where: `id = '${request.id}'`,
    row: {
      table: "federation_requests",
      id: createHash("sha256").update(request.id).digest("hex"),
    },
    write: (r) => r.federationRequests.insert(request),
    reads: {
      get: (r) => r.federationRequests.get(request.id),
      listPending: (r) => r.federationRequests.listPending(at(1)),
      resealCodeVerifier: (r) =>
        r.federationRequests.resealCodeVerifier(request.id, "v1.k1.aaaa.bbbb", "v1.k2.cccc.dddd"),
    },
  },
  {
    table: "federation_answers",
    column: "document",
    where: `hash = '${answer.hash}'`,
    row: { table: "federation_answers", id: answer.hash },
    write: (r) => r.federationAnswers.insert(answer),
    reads: { get: (r) => r.federationAnswers.get(answer.hash) },
  },
  {
    table: "webauthn_credentials",
    column: "transports",
    where: `tenant = '${TENANT}' AND id = '${passkey.id}'`,
    row: { table: "webauthn_credentials", tenant: TENANT, id: passkey.id },
    write: (r) => r.webauthnCredentials.insert(passkey),
    reads: {
      get: (r) => r.webauthnCredentials.get(TENANT, "alice", passkey.id),
      findByCredentialId: (r) =>
        r.webauthnCredentials.findByCredentialId(TENANT, "alice", passkey.credentialId),
      list: (r) => r.webauthnCredentials.list(TENANT, "alice"),
    },
  },
  {
    table: "webauthn_settings",
    column: "document",
    where: `tenant = '${TENANT}'`,
    row: { table: "webauthn_settings", id: TENANT },
    write: (r) => r.webauthnSettings.put(settings(TENANT)),
    reads: { get: (r) => r.webauthnSettings.get(TENANT) },
  },
];

/** What `read` throws, or `undefined` when it answers. */
async function thrownBy(store: Store, read: (r: Repositories) => Promise<unknown>) {
  try {
    await store.transaction(read);
    return undefined;
  } catch (error) {
    return error;
  }
}

describeOnEachStore("a stored JSON column that is not JSON", (open) => {
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });

  it.each(COLUMNS.map((damaged) => [`${damaged.table}.${damaged.column}`, damaged] as const))(
    "%s: every read throws UnreadableRecord naming the row",
    async (_name, damaged) => {
      const url = await open();
      store = await openStore(url);
      await store.transaction(async (r) => {
        await r.tenants.insert(tenantRecord(TENANT));
        await r.principals.upsert(minimalPrincipal(TENANT, "alice"));
        await damaged.write(r);
      });
      // Each read answers before the damage (rolled back: some of them write).
      const rolledBack = new Error("rolled back");
      for (const read of Object.values(damaged.reads)) {
        const answered = await thrownBy(store, async (r) => {
          await read(r);
          throw rolledBack;
        });
        expect(answered).toBe(rolledBack);
      }
      // Cut short by a character: what a careless hand edit or a truncated restore leaves.
      await tamperStore(url, [
        `UPDATE ${damaged.table} SET ${damaged.column} = substr(${damaged.column}, 1, length(${damaged.column}) - 1) WHERE ${damaged.where}`,
      ]);
      for (const [name, read] of Object.entries(damaged.reads)) {
        const thrown = await thrownBy(store, read);
        expect(thrown, name).toBeInstanceOf(UnreadableRecord);
        expect((thrown as UnreadableRecord).record, name).toEqual({ kind: "row", ...damaged.row });
      }
    },
  );
});
