import type { AuditEntry } from "../audit/audit-chain.js";
import { chainOf } from "../audit/audit-chain.js";
import { recordAuditRun, transact, type Context } from "../context.js";
import { AppError } from "../errors.js";
import type { Repositories } from "../ports.js";
import type { ReceiptRecord } from "../records.js";

/** At most this many decisions commit in one transaction, so that no batch holds locks long. */
const MAX_BATCH = 256;

/**
 * What must still hold when a receipt commits, read (and on PostgreSQL held) in the transaction
 * that writes it: `check` answers false when the decision rests on something that changed since
 * it was read.
 */
export interface StillHolds {
  /**
   * The exemption row `check` holds. A batch holds its members' rows by tenant, then id,
   * whatever order they arrived in: the order of every path that takes several exemption rows (a
   * shared-login mark revokes its principal's by id), so that such a path and a batch never
   * wait for each other in a cycle, which PostgreSQL would break by aborting one of them.
   */
  readonly row: { readonly tenant: string; readonly id: string };
  check(r: Repositories): Promise<boolean>;
}

/**
 * A decision whose grounds changed before its receipt could commit: nothing was written. Thrown
 * inside a transaction, it reaches the caller as itself (an {@link AppError}, so `transact` passes
 * it on), which decides again; not caught, it answers `store.unavailable`.
 */
export class StaleDecision extends AppError {
  constructor() {
    super(
      "store.unavailable",
      "What the decision rested on changed before its receipt was written.",
    );
    this.name = "StaleDecision";
  }
}

interface Pending {
  readonly receipt: ReceiptRecord;
  readonly events: readonly AuditEntry[];
  readonly stillHolds: StillHolds | undefined;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Writes receipts and their audit events by group commit: decisions that arrive while a batch is
 * committing wait for the next one, and a batch is one transaction. A commit costs far more than
 * the rows in it, so under load many decisions share one, and nothing waits when the writer is
 * idle. Each caller's promise settles only once its batch has committed (a decision is never
 * returned before its receipt and audit event are durable). A failed batch is written again
 * member by member, so that one decision whose rows the store refuses fails alone rather than
 * every decision, of any tenant, that shared its transaction; each member's receipt and audit
 * event still commit together or not at all (DESIGN invariant 4).
 */
export class ReceiptWriter {
  readonly #context: Context;
  #queue: Pending[] = [];
  #writing = false;

  constructor(context: Context) {
    this.#context = context;
  }

  /**
   * Stores `receipt` and `events`; resolves once committed, rejects like `transact` does, and
   * with {@link StaleDecision}, writing nothing, when `stillHolds` finds the decision's grounds
   * gone.
   */
  write(
    receipt: ReceiptRecord,
    events: readonly AuditEntry[],
    stillHolds?: StillHolds,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ receipt, events, stillHolds, resolve, reject });
      if (!this.#writing) {
        this.#writing = true;
        // One turn of the event loop lets the requests already read join the first batch.
        setImmediate(() => {
          void this.#drain();
        });
      }
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, MAX_BATCH);
      let stale: ReadonlySet<Pending>;
      try {
        stale = await transact(this.#context, (r) => writeBatch(this.#context, r, batch));
      } catch (error) {
        if (batch.length === 1) batch[0]?.reject(error);
        else await this.#writeEach(batch);
        continue;
      }
      for (const pending of batch) settle(pending, stale);
    }
    this.#writing = false;
  }

  /**
   * Each member in a transaction of its own, side by side (on SQLite the store still commits
   * them together, each in a savepoint that a failure rolls back alone). When the store itself
   * is down, every member fails again, as it would have.
   */
  async #writeEach(batch: readonly Pending[]): Promise<void> {
    await Promise.all(
      batch.map((pending) =>
        transact(this.#context, (r) => writeBatch(this.#context, r, [pending])).then((stale) => {
          settle(pending, stale);
        }, pending.reject),
      ),
    );
  }
}

function settle(pending: Pending, stale: ReadonlySet<Pending>): void {
  if (stale.has(pending)) pending.reject(new StaleDecision());
  else pending.resolve();
}

/** Writes the batch's members whose grounds still hold; returns the others, unwritten. */
async function writeBatch(
  context: Context,
  r: Repositories,
  batch: readonly Pending[],
): Promise<ReadonlySet<Pending>> {
  // First, before any receipt or audit head: the rows a check holds are taken before the heads,
  // in the order every path keeps (an exemption's revocation takes its row, then the head), and
  // among themselves by tenant and id, as a shared-login mark takes them (StillHolds).
  const stale = new Set<Pending>();
  const checks = batch
    .flatMap((pending) => {
      const { stillHolds } = pending;
      return stillHolds === undefined ? [] : [{ pending, stillHolds }];
    })
    .sort((a, b) => compareRows(a.stillHolds.row, b.stillHolds.row));
  for (const { pending, stillHolds } of checks) {
    if (!(await stillHolds.check(r))) stale.add(pending);
  }
  if (stale.size > 0) batch = batch.filter((pending) => !stale.has(pending));
  if (batch.length === 0) return stale;
  await r.receipts.insertMany(batch.map((pending) => pending.receipt));
  // Appends go chain by chain, in arrival order within each chain (the sort is stable), one
  // store call per chain. With PostgreSQL each chain's head is locked until the commit; taking
  // them in one order means two instances' batches queue behind each other instead of
  // deadlocking.
  const events = batch
    .flatMap((pending) => pending.events)
    .map((entry, index) => ({ entry, index, chain: chainOf(entry.tenant) }))
    .sort((a, b) => (a.chain < b.chain ? -1 : a.chain > b.chain ? 1 : a.index - b.index));
  let run: AuditEntry[] = [];
  for (const [index, { entry, chain }] of events.entries()) {
    run.push(entry);
    if (events[index + 1]?.chain !== chain) {
      await recordAuditRun(context, r, run);
      run = [];
    }
  }
  return stale;
}

/** By tenant, then id: the order in which a batch holds its exemption rows ({@link StillHolds}). */
function compareRows(a: StillHolds["row"], b: StillHolds["row"]): number {
  if (a.tenant !== b.tenant) return a.tenant < b.tenant ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
