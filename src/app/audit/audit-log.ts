import { toCanonicalTime } from "../../core/time.js";
import { authorize } from "../access/permissions.js";
import type { Application, AuditVerification } from "../application.js";
import { transact, type Context } from "../context.js";
import { chainDamagedError } from "../damaged-records.js";
import { AppError, InvalidInput } from "../errors.js";
import { pageLimit, requireTenant } from "../tenants/tenants.js";
import {
  UnreadableRecord,
  type AuditStore,
  type DamagedRow,
  type Page,
  type Repositories,
  type UnreadableRowsFilter,
} from "../ports.js";
import type { AuditEvent, ReceiptRecord } from "../records.js";
import {
  chainOf,
  checkFirstEvent,
  checkLink,
  checkRecordedReceipt,
  DECISION_RECORDED,
  recordedReceiptId,
} from "./audit-chain.js";
import type { AuditCheckpoints } from "./audit-checkpoints.js";

const VERIFY_BATCH = 1000;
const TENANT_PAGE = 500;

type AuditProblem = NonNullable<AuditVerification["broken"]>["problem"];
type BrokenLink = NonNullable<AuditVerification["broken"]>;

/** How many damaged rows of each table a verification names; the rest are counted. */
const DAMAGED_LISTED = 100;

/** Table, then id, then tenant, then version: the order damaged rows are named in. */
function compareRows(a: DamagedRow, b: DamagedRow): number {
  if (a.table !== b.table) return a.table < b.table ? -1 : 1;
  if (a.id !== b.id) return a.id < b.id ? -1 : 1;
  const [tenantA, tenantB] = [tenantOf(a), tenantOf(b)];
  if (tenantA !== tenantB) return tenantA < tenantB ? -1 : 1;
  return versionOf(a) - versionOf(b);
}

const tenantOf = (row: DamagedRow): string => ("tenant" in row ? row.tenant : "");
const versionOf = (row: DamagedRow): number => ("version" in row ? row.version : 0);

/**
 * The rows found holding text that is not JSON while verifying, by table and id: each is
 * reported as tampering, and verification goes on without it. Every one is counted, once however
 * often it is read; the first {@link DAMAGED_LISTED} of each table in id order are kept to name,
 * so that a store altered wholesale does not make an answer (or a memory) of every row.
 */
class DamagedRows {
  readonly #seen = new Set<string>();
  readonly #counts = new Map<DamagedRow["table"], number>();
  readonly #kept = new Map<DamagedRow["table"], DamagedRow[]>();

  /** Notes `row`, unless it was noted before. */
  note(row: DamagedRow): void {
    const key = JSON.stringify([row.table, row.id, tenantOf(row), versionOf(row)]);
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.#counts.set(row.table, (this.#counts.get(row.table) ?? 0) + 1);
    const kept = this.#kept.get(row.table) ?? [];
    kept.push(row);
    // Trimmed now and then, not at each row: sorting at each would cost a sort per row.
    if (kept.length > 2 * DAMAGED_LISTED) kept.sort(compareRows).length = DAMAGED_LISTED;
    this.#kept.set(row.table, kept);
  }

  /**
   * What `read` answers; when it meets a row that holds text that is not JSON
   * ({@link UnreadableRecord} of a row), `fallback`, with the row noted.
   */
  async read<T>(read: () => Promise<T>, fallback: T): Promise<T> {
    try {
      return await read();
    } catch (error) {
      if (!(error instanceof UnreadableRecord) || error.record.kind !== "row") throw error;
      const { kind: _kind, ...row } = error.record;
      this.note(row);
      return fallback;
    }
  }

  /**
   * The rows to name, in table and id order, and how many of each table are left unnamed; none
   * when there is none.
   */
  report(): Pick<AuditVerification, "damaged" | "damagedUnlisted"> | undefined {
    if (this.#seen.size === 0) return undefined;
    const damaged: DamagedRow[] = [];
    const unlisted: Partial<Record<DamagedRow["table"], number>> = {};
    for (const [table, rows] of [...this.#kept].sort(([a], [b]) => (a < b ? -1 : 1))) {
      damaged.push(...rows.sort(compareRows).slice(0, DAMAGED_LISTED));
      const left = (this.#counts.get(table) ?? 0) - DAMAGED_LISTED;
      if (left > 0) unlisted[table] = left;
    }
    return Object.keys(unlisted).length === 0
      ? { damaged }
      : { damaged, damagedUnlisted: unlisted };
  }
}

/**
 * Whether the store holds a record that only the platform chain audits: an API key (bootstrap
 * makes the first), a mandate or a signing key. Each was recorded there when it was made. A row
 * that cannot be read is there all the same. Every such row of the three tables is noted.
 */
async function holdsPlatformRecords(r: Repositories, damaged: DamagedRows): Promise<boolean> {
  const holds = (list: () => Promise<readonly unknown[]>) =>
    damaged.read(async () => (await list()).length > 0, true);
  const [held, unreadable] = await Promise.all([
    Promise.all([
      holds(() => r.apiKeys.list()),
      holds(() => r.mandates.listCurrent()),
      holds(() => r.signingKeys.list()),
    ]),
    Promise.all([
      r.apiKeys.listUnreadable(),
      r.mandates.listUnreadable(),
      r.signingKeys.listUnreadable(),
    ]),
  ]);
  for (const row of unreadable.flat()) damaged.note(row);
  return held.includes(true);
}

/**
 * Notes every damaged row of the tenants' tables that hold JSON and that verification reads no
 * other way (only `filter.tenant`'s when given): policy versions (older ones too), IdP
 * registrations and observations, WebAuthn credentials and settings. A decision or sign-in
 * meeting one is refused whole; this names them all, for the operator to restore at once.
 */
async function noteDamagedTenantRows(
  r: Repositories,
  damaged: DamagedRows,
  filter?: UnreadableRowsFilter,
): Promise<void> {
  const found = await Promise.all([
    r.policies.listUnreadable(filter),
    r.idps.listUnreadable(filter),
    r.webauthnCredentials.listUnreadable(filter),
    r.webauthnSettings.listUnreadable(filter),
  ]);
  for (const row of found.flat()) damaged.note(row);
}

/**
 * A page of the tenants' ids after `after`; when a row of it cannot be read, the ids alone, and
 * each row of the page read by itself to note every one that cannot.
 */
async function readTenantIds(
  r: Repositories,
  after: string | undefined,
  damaged: DamagedRows,
): Promise<Page<string>> {
  const request = { ...(after === undefined ? {} : { after }), limit: TENANT_PAGE };
  const page = await damaged.read(() => r.tenants.list(request), undefined);
  if (page !== undefined) {
    const ids = page.items.map((record) => record.id);
    return page.next === undefined ? { items: ids } : { items: ids, next: page.next };
  }
  const ids = await r.tenants.listIds(request);
  for (const id of ids.items) await damaged.read(() => r.tenants.get(id), undefined);
  return ids;
}

/**
 * Every chain to verify, in order: each one with a recorded head, each one holding events, and
 * the chain of every tenant, recorded or not. No one source suffices against someone who can
 * write to the database: a tenant's row and its head row deleted together leave its events, and
 * only they still name the chain. Receipts name their tenant's chain too: a tenant erased whole but
 * for its receipts is still seen. The platform chain is expected once anything exists (every
 * tenant's creation, API key, mandate and signing key is recorded there): erased whole, events
 * and head, it is listed all the same, and found missing.
 */
async function listChains(
  context: Context,
  receiptTenants: Iterable<string>,
  damaged: DamagedRows,
): Promise<readonly string[]> {
  const [headed, withEvents, platformRecords] = await transact(context, (r) =>
    Promise.all([
      r.audit.chains(),
      r.audit.chainsWithEvents(),
      holdsPlatformRecords(r, damaged),
      noteDamagedTenantRows(r, damaged),
    ]),
  );
  const chains = new Set([...headed, ...withEvents]);
  for (const tenant of receiptTenants) chains.add(chainOf(tenant));
  let after: string | undefined;
  do {
    const page = await transact(context, (r) => readTenantIds(r, after, damaged));
    for (const id of page.items) chains.add(chainOf(id));
    after = page.next;
  } while (after !== undefined);
  if (platformRecords || chains.size > 0) chains.add(chainOf(null));
  return [...chains].sort();
}

/** The tenant whose chain `chain` is; none for the platform's. */
function tenantOfChain(chain: string): string | undefined {
  return chain.startsWith("tenant:") ? chain.slice("tenant:".length) : undefined;
}

/**
 * For each platform-chain `tenant.created` event of `batch`, by event id, what is wrong with the
 * tenant it created: its chain gone (`missing`) or its row gone (`tenant_missing`). Tenants are
 * never removed, so every tenant the platform chain saw created must still be there: a tenant
 * erased whole (events, head, rows) leaves nothing else behind to tell.
 */
async function createdTenants(
  r: Repositories,
  batch: readonly AuditEvent[],
  damaged: DamagedRows,
): Promise<Map<string, BrokenLink>> {
  const found = new Map<string, BrokenLink>();
  for (const event of batch) {
    if (event.chain !== chainOf(null) || event.type !== "tenant.created") continue;
    const created = event.payload["tenant"];
    const id = typeof created === "string" ? created : "";
    // A row that cannot be read is there: reported as damaged, not as missing.
    const [held, head] = await Promise.all([
      damaged.read(async () => (await r.tenants.get(id)) !== undefined, true),
      r.audit.head(chainOf(id)),
    ]);
    if (head === undefined) found.set(event.id, { chain: chainOf(id), seq: 0, problem: "missing" });
    else if (!held) {
      found.set(event.id, { chain: chainOf(id), seq: 0, problem: "tenant_missing" });
    }
  }
  return found;
}

/** A receipt whose stored text is not JSON: written outside the service, it matches no event. */
const UNREADABLE = Symbol("unreadable");

/**
 * Up to `limit` events of `chain` after `afterSeq`, in order; when one of them has a payload
 * that is not JSON (`UnreadableRecord`), the events before it and its `seq` as `unreadable`,
 * read one by one to find it, so that what precedes it is verified first and the broken link
 * reported is the first.
 */
async function readEvents(
  r: Repositories,
  chain: string,
  afterSeq: number | undefined,
  limit: number,
): Promise<{ batch: readonly AuditEvent[]; unreadable?: number }> {
  try {
    return {
      batch: await r.audit.read(chain, { ...(afterSeq === undefined ? {} : { afterSeq }), limit }),
    };
  } catch (error) {
    if (!(error instanceof UnreadableRecord)) throw error;
  }
  const batch: AuditEvent[] = [];
  while (batch.length < limit) {
    let next: AuditEvent | undefined;
    try {
      const after = batch.at(-1)?.seq ?? afterSeq;
      [next] = await r.audit.read(chain, {
        ...(after === undefined ? {} : { afterSeq: after }),
        limit: 1,
      });
    } catch (error) {
      if (!(error instanceof UnreadableRecord) || error.record.kind !== "audit_event") throw error;
      return { batch, unreadable: error.record.seq };
    }
    if (next === undefined) break;
    batch.push(next);
  }
  return { batch };
}

/**
 * The receipts of `ids` that exist, by id; one whose stored text is not JSON (`UnreadableRecord`)
 * as {@link UNREADABLE}, the others read one by one then to tell it apart.
 */
async function readReceipts(
  r: Repositories,
  ids: readonly string[],
): Promise<ReadonlyMap<string, ReceiptRecord | typeof UNREADABLE>> {
  try {
    return new Map((await r.receipts.getMany(ids)).map((x) => [x.id, x]));
  } catch (error) {
    if (!(error instanceof UnreadableRecord)) throw error;
  }
  const found = new Map<string, ReceiptRecord | typeof UNREADABLE>();
  for (const id of ids) {
    try {
      const receipt = await r.receipts.get(id);
      if (receipt !== undefined) found.set(id, receipt);
    } catch (error) {
      if (!(error instanceof UnreadableRecord)) throw error;
      found.set(id, UNREADABLE);
    }
  }
  return found;
}

/**
 * `{ [field]: value }` with `value` in UTC, as stored times are written: they compare as text,
 * and an instant without that text (past year 9999 in UTC, where an offset can carry it) would
 * compare as garbage, so it is refused (`request.invalid`). Nothing for no value.
 */
export function utcTime<F extends string>(
  field: F,
  value: string | undefined,
): Partial<Record<F, string>> {
  if (value === undefined) return {};
  const utc = toCanonicalTime(value);
  if (utc === undefined) {
    const detail = "must be an ISO 8601 time within years 0000–9999 in UTC";
    throw new InvalidInput(
      (name) => `${name(field)} ${detail}.`,
      [{ field, detail: () => detail }],
    );
  }
  return { [field]: utc } as Partial<Record<F, string>>;
}

/**
 * Reads events of `chain` as {@link AuditStore.read} does, but an event whose stored text is not
 * JSON answers `audit.chain_damaged`: not the store failing but the chain altered outside the
 * service. An answer that said "try again" would have an exporter retry forever, and hide where
 * to look.
 */
export async function readChain(
  r: Repositories,
  chain: string,
  options: Parameters<AuditStore["read"]>[1],
): Promise<readonly AuditEvent[]> {
  try {
    return await r.audit.read(chain, options);
  } catch (error) {
    if (!(error instanceof UnreadableRecord) || error.record.kind !== "audit_event") throw error;
    throw chainDamagedError(error.record.chain, error.record.seq);
  }
}

/** Reading and verifying the audit chains, and signing checkpoints of them. */
export function auditUseCases(
  context: Context,
  checkpoints: AuditCheckpoints,
): Application["audit"] {
  return {
    async list(caller, tenant, filter, page) {
      if (tenant === null) authorize(caller, "audit.read_platform");
      else authorize(caller, "audit.read", tenant);
      // The first page from the first row stored, even one placed below position 1: what an
      // auditor lists or exports shows it, and an independent check of the export finds it.
      const afterSeq = page.after === undefined ? undefined : Number(page.after);
      if (afterSeq !== undefined && (!Number.isInteger(afterSeq) || afterSeq < 0)) {
        throw new AppError("request.invalid", "after must be an audit sequence number.");
      }
      const limit = pageLimit(page.limit);
      const window = { ...filter, ...utcTime("from", filter.from), ...utcTime("to", filter.to) };
      const items = await transact(context, async (r) => {
        if (tenant !== null) await requireTenant(r, tenant);
        return readChain(r, chainOf(tenant), {
          ...(afterSeq === undefined ? {} : { afterSeq }),
          limit,
          filter: window,
        });
      });
      const last = items.at(-1);
      return items.length === limit && last !== undefined
        ? { items, next: String(last.seq) }
        : { items };
    },

    async verify(caller, scope, onProgress): Promise<AuditVerification> {
      if (scope.tenant === undefined) authorize(caller, "audit.verify_all");
      else authorize(caller, "audit.read", scope.tenant);
      const { tenant } = scope;
      const damaged = new DamagedRows();
      // An unknown tenant has no chain to verify: "verified" would tell an auditor's typo it is fine.
      // Its own damaged rows are named to its auditor, who was told "intact" while a sign-in
      // meeting one is refused; another tenant's never are (invariant 5).
      if (tenant !== undefined) {
        await transact(context, async (r) => {
          await damaged.read(() => requireTenant(r, tenant), undefined);
          await noteDamagedTenantRows(r, damaged, { tenant });
        });
      }
      // Counted before any head is read: a decision commits its receipt with its event, so on a
      // live server the heads read later cover at least the receipts counted here, and a chain
      // holding fewer `decision.recorded` events than its tenant has receipts lost some (or
      // someone added receipts): no receipt is held in memory to tell. Only when every chain is
      // verified (a platform administrator's act): receipts are not indexed by tenant, so the
      // count reads the whole table, which one tenant's auditor may not make the server do.
      const receipts =
        tenant === undefined
          ? await transact(context, (r) => r.receipts.countByTenant())
          : undefined;
      // Every tenant has a chain (its creation is its first event): one with none is listed too.
      const listed =
        receipts === undefined
          ? [chainOf(tenant ?? "")]
          : await listChains(context, receipts.keys(), damaged);
      // Checked with the store's keys, a checkpoint signed by a key whose row cannot be read
      // would be refused as forged: the row is reported instead, and the checkpoint left
      // unconfirmed (the kept key, when the auditor sends it, needs none of the store's).
      const unconfirmable =
        scope.checkpoint !== undefined &&
        scope.checkpointKey === undefined &&
        (await transact(context, async (r) => {
          const unreadable = await r.signingKeys.listUnreadable();
          for (const row of unreadable) damaged.note(row);
          return unreadable.length > 0;
        }));
      // When every chain is verified, a genuine checkpoint of any chain is in scope, and says
      // that its chain existed: one erased whole (found in no other place) is listed, and found
      // missing, rather than its checkpoint refused as being "of another chain".
      const checkpoint =
        scope.checkpoint === undefined || unconfirmable
          ? undefined
          : await checkpoints.open(
              scope.checkpoint,
              tenant === undefined ? undefined : listed,
              scope.checkpointKey,
            );
      const chains =
        checkpoint === undefined || listed.includes(checkpoint.chain)
          ? listed
          : [...listed, checkpoint.chain].sort();
      let events = 0;
      // Damaged rows make the store not intact, whatever the chains say.
      const reported = (verification: AuditVerification): AuditVerification => {
        const rows = damaged.report();
        return rows === undefined ? verification : { ...verification, ok: false, ...rows };
      };
      const broken = (chain: string, seq: number, problem: AuditProblem): AuditVerification =>
        reported({ ok: false, chains: chains.length, events, broken: { chain, seq, problem } });
      for (const chain of chains) {
        let previous: { seq: number; hash: string } | undefined;
        let recorded = 0;
        // Where a stored position that is no whole number (text SQLite kept as written) stands:
        // in the place of the event expected next, which is not there.
        const positionOf = (seq: number): number =>
          Number.isSafeInteger(seq) ? seq : (previous?.seq ?? 0) + 1;
        const readOn = async (limit: number): Promise<number | BrokenLink> => {
          // The receipts that the batch's events name are read with it: each was committed with
          // its event, so none is missed on a live server.
          const { batch, unreadable, receiptsOf, created } = await transact(context, async (r) => {
            // From the first row stored, not from position 1: a row placed below it is reported.
            const { batch, unreadable } = await readEvents(r, chain, previous?.seq, limit);
            const receiptsOf = await readReceipts(
              r,
              batch.flatMap((e) => recordedReceiptId(e) ?? []),
            );
            // Only when every chain is verified: the platform chain is verified then only.
            const created =
              tenant === undefined
                ? await createdTenants(r, batch, damaged)
                : new Map<string, BrokenLink>();
            return { batch, unreadable, receiptsOf, created };
          });
          for (const event of batch) {
            const receipt = receiptsOf.get(recordedReceiptId(event) ?? "");
            const problem =
              checkLink(event, previous) ??
              checkFirstEvent(event) ??
              (receipt === UNREADABLE ? "receipt_mismatch" : checkRecordedReceipt(event, receipt));
            if (problem !== undefined) return { chain, problem, seq: positionOf(event.seq) };
            if (
              checkpoint?.chain === chain &&
              checkpoint.seq === event.seq &&
              checkpoint.hash !== event.hash
            ) {
              return { chain, problem: "checkpoint_mismatch", seq: event.seq };
            }
            const erased = created.get(event.id);
            if (erased !== undefined) return erased;
            if (event.type === DECISION_RECORDED) recorded += 1;
            previous = { seq: event.seq, hash: event.hash };
            events += 1;
          }
          // Text that is not JSON hashes to no event's hash: the next event was edited.
          if (unreadable !== undefined) {
            return Number.isSafeInteger(unreadable)
              ? { chain, problem: "hash_mismatch", seq: unreadable }
              : { chain, problem: "gap", seq: positionOf(unreadable) };
          }
          onProgress?.(events);
          return batch.length;
        };
        // Every event stored, to its end: an event written past the head (a forged one) is seen.
        for (;;) {
          const read = await readOn(VERIFY_BATCH);
          if (typeof read !== "number") return broken(read.chain, read.seq, read.problem);
          if (read < VERIFY_BATCH) break;
        }
        // The head, read after every event seen, is at least as far on as they are: an event is
        // appended with its head in one transaction. Events appended since the last read are read
        // up to that head, so a chain growing on a live server is not taken for a truncated one.
        const head = await transact(context, (r) => r.audit.head(chain));
        // Every chain verified has a head: a chain with events got it with its first one, and a
        // tenant's is created with the tenant. None left means the chain (or its anchor) was
        // deleted, the tenant's row with it or not.
        if (head === undefined) return broken(chain, 0, "missing");
        // A head at a position that is no whole number compares with none (is 'x' before the
        // checkpoint's event?): it names no event the chain reaches.
        if (!Number.isSafeInteger(head.seq))
          return broken(chain, positionOf(head.seq), "truncated");
        while ((previous?.seq ?? 0) < head.seq) {
          const read = await readOn(Math.min(VERIFY_BATCH, head.seq - (previous?.seq ?? 0)));
          if (typeof read !== "number") return broken(read.chain, read.seq, read.problem);
          if (read === 0) break;
        }
        // Deleting the newest events leaves a chain that links up, and a forged event past the
        // head links up too: the recorded head tells.
        if (head.seq !== (previous?.seq ?? 0) || head.hash !== previous?.hash) {
          return broken(chain, head.seq, "truncated");
        }
        // A chain that ends before the checkpoint's event lost it, head and all.
        if (checkpoint?.chain === chain && head.seq < checkpoint.seq) {
          return broken(chain, checkpoint.seq, "checkpoint_mismatch");
        }
        // Every event's receipt was found above; a receipt more than the events that record them
        // was never recorded (written or kept past its event's deletion outside the service).
        const owner = tenantOfChain(chain);
        if (
          receipts !== undefined &&
          owner !== undefined &&
          (receipts.get(owner) ?? 0) > recorded
        ) {
          return broken(chain, head.seq, "receipt_unrecorded");
        }
      }
      return reported({
        ok: true,
        chains: chains.length,
        events,
        ...(checkpoint === undefined
          ? {}
          : {
              checkpoint: {
                chain: checkpoint.chain,
                seq: checkpoint.seq,
                issuer: checkpoint.issuer,
              },
            }),
      });
    },

    async checkpoint(caller, scope) {
      const { tenant } = scope;
      if (tenant === undefined) {
        authorize(caller, "audit.read_platform");
        return checkpoints.sign(chainOf(null));
      }
      authorize(caller, "audit.read", tenant);
      await transact(context, (r) => requireTenant(r, tenant));
      return checkpoints.sign(chainOf(tenant));
    },
  };
}
