import {
  CompiledQuery,
  SqliteAdapter,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  type SqliteDialectConfig,
} from "kysely";

/**
 * Kysely's SQLite dialect with two changes. Transactions begin IMMEDIATE: a deferred one that
 * reads and then writes can fail with SQLITE_BUSY when another process (the `migrate` command
 * beside a server) wrote in between, whereas IMMEDIATE waits for the lock under busy_timeout.
 * And migrations run in a transaction, which SQLite supports but Kysely does not assume, so a
 * failed migration leaves no half-built schema.
 */
export class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  #driver: ImmediateSqliteDriver | undefined;

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    this.#driver = new ImmediateSqliteDriver(this.#config);
    return this.#driver;
  }

  /** Whether no query or transaction holds the connection now. */
  connectionIdle(): boolean {
    return this.#driver?.connectionIdle === true;
  }

  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  #held = false;

  get connectionIdle(): boolean {
    return !this.#held;
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await super.acquireConnection();
    this.#held = true;
    return connection;
  }

  override async releaseConnection(): Promise<void> {
    this.#held = false;
    await super.releaseConnection();
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin immediate"));
  }
}

class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}
