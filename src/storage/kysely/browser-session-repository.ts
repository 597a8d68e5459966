import type { Kysely, Selectable } from "kysely";
import type { BrowserSessionStore } from "../../app/ports.js";
import type { BrowserSessionRecord } from "../../app/records.js";
import type { AuthenticationEvent } from "../../core/evidence.js";
import type { BrowserSessionsTable, Database } from "./database.js";
import { fromRowJsonText, toJsonText } from "./json-text.js";
import { queryTemplate } from "./query-template.js";
import { toTimeText } from "./time-text.js";

// Every flow looks for a session to reuse before it challenges: compiled once (query-template.ts).
const selectSession = queryTemplate<Selectable<BrowserSessionsTable>, [string, string, string]>(
  3,
  (db, tenant, principal, browserHash) =>
    db
      .selectFrom("browser_sessions")
      .selectAll()
      .where("tenant", "=", tenant)
      .where("principal", "=", principal)
      .where("browser_hash", "=", browserHash),
);

export function createBrowserSessionRepository(db: Kysely<Database>): BrowserSessionStore {
  return {
    async get(tenant, principal, browserHash) {
      const [row] = (await selectSession(db, tenant, principal, browserHash)).rows;
      return row === undefined ? undefined : toSession(row);
    },

    // An upsert on the unique (tenant, principal, browser_hash): two flows completing together
    // in one browser leave one session, the last written, never a constraint violation.
    async put(record) {
      const row = {
        id: record.id,
        tenant: record.tenant,
        principal: record.principal,
        browser_hash: record.browserHash,
        events: toJsonText(record.events),
        created_at: toTimeText(record.createdAt, "createdAt"),
        last_active_at: toTimeText(record.lastActiveAt, "lastActiveAt"),
        expires_at: toTimeText(record.expiresAt, "expiresAt"),
      };
      await db
        .insertInto("browser_sessions")
        .values(row)
        .onConflict((conflict) =>
          conflict.columns(["tenant", "principal", "browser_hash"]).doUpdateSet({
            id: row.id,
            events: row.events,
            created_at: row.created_at,
            last_active_at: row.last_active_at,
            expires_at: row.expires_at,
          }),
        )
        .execute();
    },

    async removePrincipal(tenant, principal) {
      const deleted = await db
        .deleteFrom("browser_sessions")
        .where("tenant", "=", tenant)
        .where("principal", "=", principal)
        .executeTakeFirst();
      return Number(deleted.numDeletedRows);
    },

    // Events are JSON text in both dialects: the LIKE only narrows the rows read (SQLite's is
    // case-insensitive), the parsed events decide, and the rows go by id within the tenant.
    async removeIdp(tenant, idp) {
      const rows = await db
        .selectFrom("browser_sessions")
        .select(["id", "events"])
        .where("tenant", "=", tenant)
        .where("events", "like", '%"federated"%')
        .execute();
      const ids = rows
        .filter((row) => holdsIdpEvidence(sessionEvents(row), idp))
        .map((row) => row.id);
      let removed = 0;
      for (let start = 0; start < ids.length; start += DELETE_CHUNK) {
        const deleted = await db
          .deleteFrom("browser_sessions")
          .where("tenant", "=", tenant)
          .where("id", "in", ids.slice(start, start + DELETE_CHUNK))
          .executeTakeFirst();
        removed += Number(deleted.numDeletedRows);
      }
      return removed;
    },

    async purge(before) {
      const deleted = await db
        .deleteFrom("browser_sessions")
        .where("expires_at", "<", toTimeText(before, "before"))
        .executeTakeFirst();
      return Number(deleted.numDeletedRows);
    },
  };
}

/** Ids per DELETE: well under either dialect's limit on bound parameters. */
const DELETE_CHUNK = 500;

// The session's tenant is the IdP's: an event naming another tenant never counts there anyway.
function holdsIdpEvidence(events: readonly AuthenticationEvent[], idp: string): boolean {
  return events.some((event) => event.method === "federated" && event.idp === idp);
}

function sessionEvents(row: Pick<Selectable<BrowserSessionsTable>, "id" | "events">) {
  return fromRowJsonText(row.events, {
    table: "browser_sessions",
    id: row.id,
  }) as AuthenticationEvent[];
}

function toSession(row: Selectable<BrowserSessionsTable>): BrowserSessionRecord {
  return {
    id: row.id,
    tenant: row.tenant,
    principal: row.principal,
    browserHash: row.browser_hash,
    events: sessionEvents(row),
    createdAt: row.created_at,
    lastActiveAt: row.last_active_at,
    expiresAt: row.expires_at,
  };
}
