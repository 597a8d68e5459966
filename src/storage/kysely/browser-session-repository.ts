import type { Kysely, Selectable } from "kysely";
import type { BrowserSessionStore } from "../../app/ports.js";
import type { BrowserSessionRecord } from "../../app/records.js";
import type { AuthenticationEvent } from "../../core/evidence.js";
import type { BrowserSessionsTable, Database } from "./database.js";
import { fromJsonText, toJsonText } from "./json-text.js";
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

    async purge(before) {
      const deleted = await db
        .deleteFrom("browser_sessions")
        .where("expires_at", "<", toTimeText(before, "before"))
        .executeTakeFirst();
      return Number(deleted.numDeletedRows);
    },
  };
}

function toSession(row: Selectable<BrowserSessionsTable>): BrowserSessionRecord {
  return {
    id: row.id,
    tenant: row.tenant,
    principal: row.principal,
    browserHash: row.browser_hash,
    events: fromJsonText(row.events) as AuthenticationEvent[],
    createdAt: row.created_at,
    lastActiveAt: row.last_active_at,
    expiresAt: row.expires_at,
  };
}
