import {
  sql,
  type Kysely,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type Transaction,
  type UnknownRow,
} from "kysely";
import type { Database } from "./database.js";

/** At most this many transactions share one commit, so that no batch holds the lock long. */
export const MAX_GROUP = 256;

const SAVEPOINT = sql.raw("savepoint grouped_work");
const RELEASE = sql.raw("release grouped_work");
const ROLLBACK_TO = sql.raw("rollback to grouped_work");

/** What a query of a work that has settled is refused with, as Kysely refuses an ended one's. */
export const WORK_ENDED = "Transaction is already ended: its work has settled";

/**
 * Refuses the queries of one work once it has settled. The works of a group share one
 * transaction, which Kysely refuses only at the group's end: a query the work left under way (a
 * `Promise.all` whose other member failed) would otherwise run after its savepoint, in the next
 * work's or before the group's COMMIT, and a work its caller was told failed would be
 * committed in part. (Compiled queries run directly are refused in `direct-execution.ts`.)
 */
class WorkScope implements KyselyPlugin {
  ended = false;

  transformQuery({ node }: PluginTransformQueryArgs): RootOperationNode {
    if (this.ended) throw new Error(WORK_ENDED);
    return node;
  }

  transformResult({ result }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(result);
  }
}

/** One caller's transaction, waiting for its turn. */
interface Pending {
  readonly work: (trx: Transaction<Database>) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Commits concurrent transactions together, for a database with one connection (SQLite): the
 * transactions that arrive in the same turn of the event loop, or while a group is under way,
 * run one after the other inside one BEGIN IMMEDIATE … COMMIT, each in a savepoint of its own. A
 * commit costs far more than the statements before it (the WAL frames of every page the
 * transaction dirtied, and the pages the works share, such as an audit chain's head, are written
 * once per group).
 *
 * A transaction that finds the connection idle does not start at once: the group starts in the
 * event loop's next check phase (`setImmediate`), after the callbacks of the current one have
 * run. Callers that resume from I/O or a crypto job (a WebAuthn sign-in resumes from WebCrypto's
 * signature check) each arrive in a callback of their own, when the connection is idle again;
 * started at once, each committed alone (about one commit per sign-in), whereas callers resumed
 * by promises alone arrive while the group runs. The wait is one turn of the loop, without a
 * timer: a lone transaction on an idle process starts a few microseconds later.
 *
 * What each caller sees is what serial transactions give it: the works run one at a time in
 * arrival order, each seeing the writes of those before it; a work that throws is rolled back to
 * its savepoint alone and its caller gets the error; a caller's promise resolves only once the
 * group's COMMIT has returned, so nothing is answered before its writes are committed with the
 * configured durability; and if the group cannot commit, every caller still waiting gets the
 * error (one transaction: committed together or not at all). A query a work issues after it
 * settled is refused, as a lone transaction's would be. A group of one runs without a savepoint.
 */
export class GroupCommit {
  readonly #db: Kysely<Database>;
  #queue: Pending[] = [];
  #running = false;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Runs `work` in the next group; settles after that group's commit (or `work`'s failure). */
  run<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#running) {
        this.#running = true;
        setImmediate(() => void this.#drain());
      }
    });
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const group = this.#queue.splice(0, MAX_GROUP);
        await (group.length === 1 ? this.#alone(group[0] as Pending) : this.#together(group));
      }
    } finally {
      this.#running = false;
    }
  }

  async #alone(pending: Pending): Promise<void> {
    try {
      pending.resolve(await this.#db.transaction().execute(pending.work));
    } catch (error) {
      pending.reject(error);
    }
  }

  async #together(group: readonly Pending[]): Promise<void> {
    const committed: { pending: Pending; value: unknown }[] = [];
    const waiting = new Set(group);
    try {
      await this.#db.transaction().execute(async (trx) => {
        for (const pending of group) {
          await SAVEPOINT.execute(trx);
          const scope = new WorkScope();
          let value: unknown;
          try {
            value = await pending.work(trx.withPlugin(scope));
          } catch (error) {
            scope.ended = true;
            // Undoes this work alone; should that fail, the transaction is unusable and the
            // error ends the group (every caller still waiting gets it).
            await ROLLBACK_TO.execute(trx);
            await RELEASE.execute(trx);
            waiting.delete(pending);
            pending.reject(error);
            continue;
          }
          scope.ended = true;
          await RELEASE.execute(trx);
          committed.push({ pending, value });
        }
      });
    } catch (error) {
      for (const pending of waiting) pending.reject(error);
      return;
    }
    for (const { pending, value } of committed) pending.resolve(value);
  }
}
