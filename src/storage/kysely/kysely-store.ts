import { AsyncLocalStorage } from "node:async_hooks";
import { sql, type Kysely } from "kysely";
import type { Store, StoreChange } from "../../app/ports.js";
import type { AuditRepositoryOptions } from "./audit-repository.js";
import type { ChangeListeners } from "./change-listeners.js";
import { createRepositories } from "./create-repositories.js";
import type { Database } from "./database.js";
import { emitStoreWarning } from "./emit-store-warning.js";
import { GroupCommit } from "./group-commit.js";

export interface KyselyStoreOptions {
  readonly db: Kysely<Database>;
  readonly audit: AuditRepositoryOptions;
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
}

interface TransactionScope {
  open: boolean;
  readonly changes: StoreChange[];
}

/** A Store over Kysely, the same for both dialects once they supply how changes travel. */
export function createKyselyStore(options: KyselyStoreOptions): Store {
  const { db, audit, listeners, publish, release } = options;
  const group = options.groupCommit === true ? new GroupCommit(db) : undefined;
  const scopes = new AsyncLocalStorage<TransactionScope>();
  let closing: Promise<void> | undefined;
  // Outside a transaction each query takes the connection (SQLite) or a pooled one on its own.
  const readers = createRepositories(db, audit);

  return {
    async transaction(work) {
      // SQLite would wait forever for the connection its own caller holds, and PostgreSQL for
      // the audit head it holds; failing at once names the bug instead.
      if (scopes.getStore()?.open === true) {
        throw new Error(
          "Store.transaction was called inside a transaction of the same store; " +
            "use the repositories passed to the outer work instead",
        );
      }
      const scope: TransactionScope = { open: true, changes: [] };
      const result = await (
        group === undefined
          ? scopes.run(scope, () =>
              db.transaction().execute((trx) => work(createRepositories(trx, audit))),
            )
          : // The group runs `work` later, from its own call chain: the scope goes with it.
            group.run((trx) => scopes.run(scope, () => work(createRepositories(trx, audit))))
      ).finally(() => {
        scope.open = false;
      });
      for (const change of scope.changes) await publishCommitted(change);
      return result;
    },

    async read(work) {
      // SQLite's one connection is held by the open transaction: a read would wait for itself.
      if (scopes.getStore()?.open === true) {
        throw new Error(
          "Store.read was called inside a transaction of the same store; " +
            "use the repositories passed to the outer work instead",
        );
      }
      return work(readers);
    },

    // Inside a transaction the change waits for the commit, so that no instance reloads
    // before the data it would reload exists, and a rollback announces nothing.
    async notify(change) {
      const scope = scopes.getStore();
      if (scope?.open === true) {
        scope.changes.push(change);
        return;
      }
      await publish(change);
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

  // The data is committed: a failed announcement must not make the caller believe otherwise.
  // Caches expire on their own, so a warning is the proportionate response.
  async function publishCommitted(change: StoreChange): Promise<void> {
    try {
      await publish(change);
    } catch (error) {
      emitStoreWarning("Could not announce a committed store change", error);
    }
  }
}
