import { AsyncLocalStorage } from "node:async_hooks";
import { sql, type Kysely, type Transaction } from "kysely";
import type { ChangeNotices, Store, StoreChange } from "../../app/ports.js";
import type { AuditRepositoryOptions } from "./audit-repository.js";
import type { ChangeListeners } from "./change-listeners.js";
import { createRepositories, type RepositoryOptions } from "./create-repositories.js";
import type { Database } from "./database.js";
import { withDirectExecution } from "./direct-execution.js";
import { emitStoreWarning } from "./emit-store-warning.js";
import { GroupCommit } from "./group-commit.js";

export interface KyselyStoreOptions {
  readonly db: Kysely<Database>;
  readonly audit: AuditRepositoryOptions;
  /** Lock the rows that checks read ({@link RepositoryOptions.lockRows}): PostgreSQL. */
  readonly lockRows: boolean;
  readonly listeners: ChangeListeners;
  /** Announces a committed change to every instance sharing the database, this one included. */
  readonly publish: (change: StoreChange) => Promise<void>;
  /** Releases what the dialect holds besides `db`. */
  readonly release?: () => Promise<void>;
  /**
   * Commit concurrent transactions together ({@link GroupCommit}). For a dialect whose
   * transactions run one after the other on one connection anyway (SQLite); with a pool
   * (PostgreSQL) they run side by side and commit on their own.
   */
  readonly groupCommit?: boolean;
  /**
   * Refuse, naming the bug, a transaction or read started inside a transaction of the same store
   * (it would wait for itself forever), and a `notify` inside one (it would announce before the
   * commit). This follows each transaction's call chain with AsyncLocalStorage, whose promise
   * hooks then run for every promise of the process: several percent of a sign-in's CPU. For
   * tests; off unless true.
   */
  readonly detectNesting?: boolean;
}

interface TransactionScope {
  open: boolean;
  readonly changes: StoreChange[];
}

// Store.read's repositories belong to no transaction: nothing could hold an announcement back.
const NO_NOTICES: ChangeNotices = {
  announce() {
    throw new Error("Changes are announced through a transaction's repositories, not Store.read's");
  },
};

const nestedError = (what: string): Error =>
  new Error(
    `${what} was called inside a transaction of the same store; ` +
      "use the repositories passed to the outer work instead",
  );

/** A Store over Kysely, the same for both dialects once they supply how changes travel. */
export function createKyselyStore(options: KyselyStoreOptions): Store {
  const { db, listeners, publish, release } = options;
  const repositoryOptions: RepositoryOptions = { audit: options.audit, lockRows: options.lockRows };
  const group = options.groupCommit === true ? new GroupCommit(db) : undefined;
  const scopes =
    options.detectNesting === true ? new AsyncLocalStorage<TransactionScope>() : undefined;
  const insideTransaction = (): boolean => scopes?.getStore()?.open === true;
  let closing: Promise<void> | undefined;
  // Outside a transaction each query takes the connection (SQLite) or a pooled one on its own.
  const readers = createRepositories(db, repositoryOptions, NO_NOTICES);

  return {
    async transaction(work) {
      // SQLite would wait forever for the connection its own caller holds, and PostgreSQL for
      // the audit head it holds.
      if (insideTransaction()) throw nestedError("Store.transaction");
      const scope: TransactionScope = { open: true, changes: [] };
      const notices: ChangeNotices = {
        announce(change) {
          if (!scope.open) throw new Error("A change was announced after its transaction ended");
          scope.changes.push(change);
        },
      };
      const run = (trx: Transaction<Database>) =>
        withDirectExecution(trx, () => work(createRepositories(trx, repositoryOptions, notices)));
      // The group runs `run` later, from its own call chain: the scope goes with it.
      const tracked =
        scopes === undefined
          ? run
          : (trx: Transaction<Database>) => scopes.run(scope, () => run(trx));
      const result = await (
        group === undefined ? db.transaction().execute(tracked) : group.run(tracked)
      ).finally(() => {
        scope.open = false;
      });
      for (const change of scope.changes) await publishCommitted(change);
      return result;
    },

    async read(work) {
      // SQLite's one connection is held by the open transaction: a read would wait for itself.
      if (insideTransaction()) throw nestedError("Store.read");
      return work(readers);
    },

    async notify(change) {
      if (insideTransaction()) throw nestedError("Store.notify");
      // Called once the change's transaction has committed: the change stands whatever befalls
      // its announcement.
      await publishCommitted(change);
    },

    onChange(listener) {
      return listeners.add(listener);
    },

    async ping() {
      await sql`select 1`.execute(db);
    },

    close() {
      closing ??= (async () => {
        await release?.();
        await db.destroy();
      })();
      return closing;
    },
  };

  // The data is committed: a failed announcement must not make the caller believe otherwise (a
  // client told its change failed retries it, into a conflict or a duplicate). This instance's
  // listeners heard the change before the announcement could fail (`publish` tells them first),
  // and every other instance's caches expire within a second on their own, so a warning is the
  // proportionate response.
  async function publishCommitted(change: StoreChange): Promise<void> {
    try {
      await publish(change);
    } catch (error) {
      emitStoreWarning("Could not announce a committed store change", error);
    }
  }
}
