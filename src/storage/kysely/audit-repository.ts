import { sql, type Kysely, type Selectable } from "kysely";
import { UnreadableRecord, type AuditRun, type AuditStore } from "../../app/ports.js";
import type { AuditEvent } from "../../app/records.js";
import type { AuditEventsTable, AuditHeadsTable, Database } from "./database.js";
import { fromWrittenJsonText, toJsonText } from "./json-text.js";
import { checkLimit, literalLimit } from "./page.js";
import { queryTemplate } from "./query-template.js";
import { chunkRows, insertRows } from "./statement-rows.js";
import { checkTimeText, toTimeText } from "./time-text.js";

export interface AuditRepositoryOptions {
  /**
   * Lock the head row with `SELECT … FOR UPDATE`. PostgreSQL needs it because transactions run
   * side by side; SQLite has no such clause and needs none, its write transactions being serial.
   */
  readonly lockHeads: boolean;
}

// The statements of every append, compiled once each (query-template.ts): four when heads are
// locked (PostgreSQL), three when write transactions are serial (SQLite). An append of many
// events takes as many, its events inserted in one multi-row statement instead of one each.
const insertPlaceholderHead = queryTemplate<unknown, [string]>(1, (db, chain) =>
  db
    .insertInto("audit_heads")
    .values({ chain, seq: 0, hash: "" })
    .onConflict((conflict) => conflict.column("chain").doNothing()),
);
const readHead = queryTemplate<{ seq: number; hash: string }, [string]>(1, (db, chain) =>
  db.selectFrom("audit_heads").select(["seq", "hash"]).where("chain", "=", chain),
);
const lockHead = queryTemplate<{ seq: number; hash: string }, [string]>(1, (db, chain) =>
  db.selectFrom("audit_heads").select(["seq", "hash"]).where("chain", "=", chain).forUpdate(),
);
const insertEvent = queryTemplate<
  unknown,
  [string, number, string, string | null, string, string, string, string, string, string]
>(10, (db, chain, seq, id, tenant, type, actor, at, payload, prevHash, hash) =>
  db.insertInto("audit_events").values({
    chain,
    seq,
    id,
    tenant,
    type,
    actor,
    at,
    payload,
    prev_hash: prevHash,
    hash,
  }),
);
// Serial writers need no placeholder to lock: the head is read, then written or created.
const upsertHead = queryTemplate<unknown, [string, number, string]>(3, (db, chain, seq, hash) =>
  db
    .insertInto("audit_heads")
    .values({ chain, seq, hash })
    .onConflict((conflict) =>
      conflict.column("chain").doUpdateSet((eb) => ({
        seq: eb.ref("excluded.seq"),
        hash: eb.ref("excluded.hash"),
      })),
    ),
);
// The decision API reads one event per platform MFA event it checks: a hot read.
/**
 * A chain's first position: a row stored below it was not appended (someone wrote it to the
 * database) and lies outside the chain that verification follows from position 1, so an event
 * looked up by id (evidence of a verification, a receipt's binding) is never taken from there.
 */
const FIRST_SEQ = 1;

const findEvent = queryTemplate<Selectable<AuditEventsTable>, [string, string]>(
  2,
  (db, id, chain) =>
    db
      .selectFrom("audit_events")
      .selectAll()
      .where("id", "=", id)
      .where("chain", "=", chain)
      .where("seq", ">=", FIRST_SEQ),
);
/**
 * Whether a row found by id stands at a position of its chain: SQLite keeps text written to its
 * integer column as text, which it orders after every number (`seq >= 1` holds for 'x'), and
 * such a row was no more appended than one below position 1.
 */
const inChain = (row: { seq: number }): boolean =>
  Number.isSafeInteger(row.seq) && row.seq >= FIRST_SEQ;

const updateHead = queryTemplate<unknown, [number, string, string]>(3, (db, seq, hash, chain) =>
  db.updateTable("audit_heads").set({ seq, hash }).where("chain", "=", chain),
);

export function createAuditRepository(
  db: Kysely<Database>,
  options: AuditRepositoryOptions,
): AuditStore {
  // The head as `link` sees it: none for an empty chain. Locked until the commit on PostgreSQL.
  async function takeHead(chain: string): Promise<{ seq: number; hash: string } | undefined> {
    if (options.lockHeads) {
      // The placeholder row (seq 0) gives a new chain a row to lock: without it, two first
      // appends would both see no head and fork. It rolls back with the transaction.
      await insertPlaceholderHead(db, chain);
      const [row] = (await lockHead(db, chain)).rows;
      if (row === undefined) throw new Error(`Audit chain ${chain} has no head row`);
      return row.seq === 0 ? undefined : { seq: row.seq, hash: row.hash };
    }
    // No other writer runs until this transaction ends: what is read stays the head.
    const [row] = (await readHead(db, chain)).rows;
    return row === undefined || row.seq === 0 ? undefined : { seq: row.seq, hash: row.hash };
  }

  const insertOne = (r: AuditEventsTable) =>
    insertEvent(
      db,
      r.chain,
      r.seq,
      r.id,
      r.tenant,
      r.type,
      r.actor,
      r.at,
      r.payload,
      r.prev_hash,
      r.hash,
    );

  /**
   * The heads of `chains` as {@link takeHead} takes one, all at once: locked in chain order on
   * PostgreSQL (placeholders made first, in that order too), so that two appends to many chains
   * never each hold a head the other waits for.
   */
  async function takeHeads(
    chains: readonly string[],
  ): Promise<Map<string, { seq: number; hash: string }>> {
    const heads = new Map<string, { seq: number; hash: string }>();
    const sorted = [...chains].sort();
    for (const chunk of chunkRows(sorted.map((chain) => ({ chain, seq: 0, hash: "" })))) {
      const names = chunk.map((row) => row.chain);
      let query = db
        .selectFrom("audit_heads")
        .select(["chain", "seq", "hash"])
        .where("chain", "in", names)
        .orderBy("chain");
      if (options.lockHeads) {
        await db
          .insertInto("audit_heads")
          .values(chunk)
          .onConflict((conflict) => conflict.column("chain").doNothing())
          .execute();
        query = query.forUpdate();
      }
      for (const row of await query.execute()) {
        if (row.seq > 0) heads.set(row.chain, { seq: row.seq, hash: row.hash });
      }
    }
    return heads;
  }

  /** Inserts `events` in as few statements as the database allows. */
  const insertEvents = (events: readonly AuditEvent[]) =>
    insertRows(db, events.map(toRow), insertOne, (rows) =>
      db.insertInto("audit_events").values(rows).execute(),
    );

  async function writeHead(chain: string, head: { seq: number; hash: string }): Promise<void> {
    await (options.lockHeads
      ? updateHead(db, head.seq, head.hash, chain)
      : upsertHead(db, chain, head.seq, head.hash));
  }

  return {
    async append(chain, link) {
      const head = await takeHead(chain);
      const event = link(head);
      checkLinksToHead(chain, head, event);
      await insertOne(toRow(event));
      await writeHead(chain, event);
      return event;
    },

    async appendMany(chain, links) {
      if (links.length === 0) return [];
      const events = linkRun(chain, await takeHead(chain), links);
      await insertEvents(events);
      const last = events[events.length - 1];
      if (last !== undefined) await writeHead(chain, last);
      return events;
    },

    async appendToChains(runs) {
      const chains = runs.filter((run) => run.links.length > 0).map((run) => run.chain);
      if (new Set(chains).size !== chains.length) {
        throw new Error("Audit runs to append name a chain more than once");
      }
      if (chains.length === 0) return [];
      const heads = await takeHeads(chains);
      const events: AuditEvent[] = [];
      const newHeads: Selectable<AuditHeadsTable>[] = [];
      for (const { chain, links } of runs) {
        const run = linkRun(chain, heads.get(chain), links);
        const last = run[run.length - 1];
        if (last === undefined) continue;
        events.push(...run);
        newHeads.push({ chain, seq: last.seq, hash: last.hash });
      }
      await insertEvents(events);
      for (const rows of chunkRows(newHeads)) {
        await db
          .insertInto("audit_heads")
          .values(rows)
          .onConflict((conflict) =>
            conflict.column("chain").doUpdateSet((eb) => ({
              seq: eb.ref("excluded.seq"),
              hash: eb.ref("excluded.hash"),
            })),
          )
          .execute();
      }
      return events;
    },

    // `from` is inclusive and `to` exclusive, so that consecutive windows never count an event
    // twice.
    async read(chain, { afterSeq, limit, filter = {} }) {
      checkLimit(limit);
      let query = db.selectFrom("audit_events").selectAll().where("chain", "=", chain);
      if (afterSeq !== undefined) query = query.where("seq", ">", afterSeq);
      if (filter.type !== undefined) query = query.where("type", "=", filter.type);
      if (filter.from !== undefined)
        query = query.where("at", ">=", windowBound(filter.from, "from"));
      if (filter.to !== undefined) query = query.where("at", "<", windowBound(filter.to, "to"));
      const rows = await query.orderBy("seq").limit(literalLimit(limit)).execute();
      return rows.map(toEvent);
    },

    async find(chain, id) {
      const [row] = (await findEvent(db, id, chain)).rows;
      return row === undefined || !inChain(row) ? undefined : toEvent(row);
    },

    async findAnywhere(id) {
      const row = await db
        .selectFrom("audit_events")
        .selectAll()
        .where("id", "=", id)
        .where("seq", ">=", FIRST_SEQ)
        .executeTakeFirst();
      return row === undefined || !inChain(row) ? undefined : toEvent(row);
    },

    async head(chain) {
      const row = await db
        .selectFrom("audit_heads")
        .select(["seq", "hash"])
        .where("chain", "=", chain)
        .where("seq", ">", 0)
        .executeTakeFirst();
      return row === undefined ? undefined : { seq: row.seq, hash: row.hash };
    },

    async chains() {
      const rows = await db
        .selectFrom("audit_heads")
        .select("chain")
        .where("seq", ">", 0)
        .orderBy("chain")
        .execute();
      return rows.map((row) => row.chain);
    },

    async chainsWithEvents() {
      // A DISTINCT would read every event's key; this hops from one chain to the next along the
      // (chain, seq) primary key instead, one index probe per chain, on both dialects.
      const { rows } = await sql<{ chain: string }>`
        with recursive listed (chain) as (
          select min(chain) from audit_events
          union all
          select (select min(e.chain) from audit_events e where e.chain > listed.chain)
            from listed
           where listed.chain is not null
        )
        select chain from listed where chain is not null order by chain`.execute(db);
      return rows.map((row) => row.chain);
    },
  };
}

// A link that does not continue the head would fork or leave a gap in the chain: a bug in the
// caller, refused before anything is written.
/**
 * The events `links` return from `head` on, each given the one before; every one is checked
 * before anything is written, as `append` refuses its one.
 */
function linkRun(
  chain: string,
  from: { seq: number; hash: string } | undefined,
  links: AuditRun["links"],
): AuditEvent[] {
  let head = from;
  const events: AuditEvent[] = [];
  for (const link of links) {
    const event = link(head);
    checkLinksToHead(chain, head, event);
    events.push(event);
    head = { seq: event.seq, hash: event.hash };
  }
  return events;
}

function checkLinksToHead(
  chain: string,
  head: { seq: number; hash: string } | undefined,
  event: AuditEvent,
): void {
  const expectedSeq = (head?.seq ?? 0) + 1;
  if (event.chain !== chain) {
    throw new Error(`Audit link for chain ${chain} returned an event of chain ${event.chain}`);
  }
  if (event.seq !== expectedSeq) {
    throw new Error(`Audit link for chain ${chain} returned seq ${event.seq}, not ${expectedSeq}`);
  }
  if (head !== undefined && event.prevHash !== head.hash) {
    throw new Error(`Audit link for chain ${chain} seq ${event.seq} does not chain to the head`);
  }
}

function toRow(event: AuditEvent): AuditEventsTable {
  return {
    chain: event.chain,
    seq: event.seq,
    id: event.id,
    tenant: event.tenant,
    type: event.type,
    actor: event.actor,
    at: checkTimeText(event.at, "at"),
    payload: toJsonText(event.payload),
    prev_hash: event.prevHash,
    hash: event.hash,
  };
}

function toEvent(row: Selectable<AuditEventsTable>): AuditEvent {
  const unreadable = () =>
    new UnreadableRecord({ kind: "audit_event", chain: row.chain, seq: row.seq });
  const payload = fromWrittenJsonText(row.payload, unreadable);
  return {
    chain: row.chain,
    seq: row.seq,
    id: row.id,
    tenant: row.tenant,
    type: row.type,
    actor: row.actor,
    at: row.at,
    payload: payload as AuditEvent["payload"],
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/**
 * A time window's bound as the stored times' text, to compare with them. Past year 9999 in UTC
 * `toISOString()` writes a six-digit signed year (`+010000-…`), which compares as text with no
 * relation to the instant: refused, as a programming error (the service refuses such input).
 */
function windowBound(value: string, field: string): string {
  const text = toTimeText(value, field);
  if (!/^\d{4}-/.test(text)) {
    throw new RangeError(`${field} is outside years 0000–9999 in UTC: ${JSON.stringify(value)}`);
  }
  return text;
}
