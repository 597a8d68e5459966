import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { openHarness, type Harness } from "./harness.js";
import { openPostgresDatabase } from "./postgres-instances.js";

/** An application over a fresh store, and a way into its database that bypasses it. */
export interface TamperedWorld {
  readonly h: Harness;
  /** Runs SQL straight on the database, as someone holding its credentials would. */
  readonly tamper: (statements: readonly string[]) => Promise<void>;
  readonly close: () => Promise<void>;
}

/** The harness options a world passes on (everything but where the store is). */
export type WorldOptions = Omit<NonNullable<Parameters<typeof openHarness>[0]>, "url" | "store">;

/**
 * SQL (for SQLite and PostgreSQL) that alters the last four characters of the ciphertext in
 * `column`: it no longer opens, and still names the key that sealed it.
 */
export const alteredCiphertext = (column: string): string =>
  `substr(${column}, 1, length(${column}) - 4) || CASE WHEN substr(${column}, length(${column}) - 3) = 'AAAA' THEN 'BBBB' ELSE 'AAAA' END`;

/**
 * Runs `statements` straight on the store at `url` (`sqlite:PATH` or `postgres://…`), behind the
 * service, as someone holding its credentials would, through a connection of its own.
 */
export async function tamperStore(url: string, statements: readonly string[]): Promise<void> {
  if (url.startsWith("sqlite:")) {
    const file = new Database(url.slice("sqlite:".length));
    try {
      for (const statement of statements) file.exec(statement);
    } finally {
      file.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

/** A world over a SQLite file, tampered with through a connection of its own. */
export async function openSqliteWorld(options: WorldOptions = {}): Promise<TamperedWorld> {
  const dir = mkdtempSync(join(tmpdir(), "tenant-mfa-audit-"));
  const file = join(dir, "store.db");
  const h = await openHarness({ ...options, url: `sqlite:${file}` });
  const db = new Database(file);
  // Foreign keys are a setting of each connection: this one skips those that keep the tenant's row.
  db.pragma("foreign_keys = OFF");
  return {
    h,
    tamper: (statements) => {
      for (const statement of statements) db.exec(statement);
      return Promise.resolve();
    },
    close: async () => {
      db.close();
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A world over a fresh PostgreSQL database, tampered with as its superuser. */
export async function openPostgresWorld(options: WorldOptions = {}): Promise<TamperedWorld> {
  const database = await openPostgresDatabase();
  const h = await openHarness({ ...options, url: database.url });
  return {
    h,
    tamper: async (statements) => {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        // A superuser's session skips the foreign keys that would keep the tenant's row.
        await client.query("SET session_replication_role = replica");
        for (const statement of statements) await client.query(statement);
      } finally {
        await client.end();
      }
    },
    close: async () => {
      try {
        await h.close();
      } finally {
        await database.drop();
      }
    },
  };
}
