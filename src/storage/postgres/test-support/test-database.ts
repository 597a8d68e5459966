import { randomBytes } from "node:crypto";
import pg from "pg";
import { expect, inject } from "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    /** The run's migrated template database; absent when PostgreSQL was unreachable. */
    postgresTemplate?: string;
    /**
     * The prefix of the run's test databases' names, by which its teardown finds the ones a
     * test left behind.
     */
    postgresDatabasePrefix?: string;
  }
}

/** The server the PostgreSQL tests use; each run makes and drops its own databases there. */
export const ADMIN_URL =
  process.env.TENANT_MFA_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";

/** The URL without its password, fit for a test title or a warning. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparsable URL)";
  }
}

export async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Why the server cannot be reached, or undefined when it can. */
export async function findUnreachableReason(): Promise<string | undefined> {
  try {
    await withAdmin((client) => client.query("select 1"));
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** Drops the database, ending any connection left on it. */
  readonly drop: () => Promise<void>;
}

/** The URL of database `name` on the test server. */
export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * A fresh database, cloned from the run's template (see migrated-template.ts) so that it holds
 * every migration of this code already: a store opened on it has nothing to migrate. `empty`: a
 * database no migration was applied to, for the tests of migrating itself.
 */
export async function createTestDatabase(
  options: { readonly empty?: boolean } = {},
): Promise<TestDatabase> {
  const name = `${inject("postgresDatabasePrefix") ?? "tenant_mfa_"}${randomBytes(6).toString("hex")}`;
  let template = "";
  if (options.empty !== true) {
    const migrated = inject("postgresTemplate");
    if (migrated === undefined)
      throw new Error(
        "No migrated template database: PostgreSQL was unreachable when the test run began.",
      );
    template = ` TEMPLATE ${migrated}`;
  }
  // Named by the test that made it, for the run's teardown to name one that was left.
  const { testPath, currentTestName } = expect.getState();
  const madeBy = `${testPath ?? "(no test file)"} :: ${currentTestName ?? "(set-up)"}`;
  await withAdmin(async (client) => {
    await client.query(`CREATE DATABASE ${name}${template}`);
    await client.query(`COMMENT ON DATABASE ${name} IS ${client.escapeLiteral(madeBy)}`);
  });
  return {
    name,
    url: databaseUrl(name),
    drop: async () => {
      await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** The connections open on `database`, by application name. */
export async function countConnections(
  database: string,
  applicationName?: string,
): Promise<number> {
  const { rows } = await withAdmin((client) =>
    client.query<{ count: string }>(
      `select count(*) from pg_stat_activity
        where datname = $1 and ($2::text is null or application_name = $2)`,
      [database, applicationName ?? null],
    ),
  );
  return Number(rows[0]?.count ?? 0);
}

/** Ends the backends of `database` with that application name, as a failover would. */
export async function terminateConnections(
  database: string,
  applicationName: string,
): Promise<number> {
  const { rows } = await withAdmin((client) =>
    client.query(
      `select pg_terminate_backend(pid) from pg_stat_activity
        where datname = $1 and application_name = $2`,
      [database, applicationName],
    ),
  );
  return rows.length;
}

/** Sends raw payloads on a channel of the database at `url`, as any connected client could. */
export async function notifyRaw(
  url: string,
  channel: string,
  payloads: readonly string[],
): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const payload of payloads)
      await client.query("select pg_notify($1, $2)", [channel, payload]);
  } finally {
    await client.end();
  }
}

/**
 * Resolves once a backend of `database` waits on a lock (a row another transaction holds, say):
 * how a race test knows that the transaction it started has reached the lock it should queue on.
 * Rejects after `timeoutMs`.
 */
export async function untilWaitingOnLock(database: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await withAdmin(async (client) => {
    for (;;) {
      const { rows } = await client.query<{ count: string }>(
        `select count(*) from pg_stat_activity where datname = $1 and wait_event_type = 'Lock'`,
        [database],
      );
      if (Number(rows[0]?.count ?? 0) > 0) return;
      if (Date.now() > deadline) throw new Error(`No backend of ${database} waits on a lock.`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
}
