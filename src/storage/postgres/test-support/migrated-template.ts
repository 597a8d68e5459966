import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import { migratePostgresStore } from "../open-postgres-store.js";
import { databaseUrl, findUnreachableReason, withAdmin } from "./test-database.js";

/**
 * Vitest's global set-up (vitest.config.ts): one database per test run migrated by this code's
 * migrations, which `createTestDatabase` clones, so that the PostgreSQL suites' two hundred
 * databases are not each migrated from zero; dropped when the run ends. Without a reachable
 * server there is none, and the suites skip, or fail in CI, as their own check of the server says.
 */
export default async function provideMigratedTemplate(
  project: TestProject,
): Promise<(() => Promise<void>) | undefined> {
  // Every project extends the root config, so each lists this file; what the root project
  // provides reaches them all.
  if (!project.isRootProject()) return undefined;
  if ((await findUnreachableReason()) !== undefined) return undefined;
  // A name of its own per run: runs sharing the server never share a template, and one that a
  // crashed run left behind is never cloned again.
  const run = randomBytes(6).toString("hex");
  const name = `tenant_mfa_template_${run}`;
  const prefix = `tenant_mfa_${run}_`;
  const drop = async () => {
    await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  };
  await withAdmin((client) => client.query(`CREATE DATABASE ${name}`));
  try {
    await migratePostgresStore(databaseUrl(name));
    // CREATE DATABASE … TEMPLATE fails while any session is connected to the template.
    await withAdmin((client) => client.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`));
  } catch (error) {
    await drop();
    throw error;
  }
  project.provide("postgresTemplate", name);
  project.provide("postgresDatabasePrefix", prefix);
  return async () => {
    await dropLeftovers(prefix);
    await drop();
  };
}

/**
 * Drops the run's test databases that their tests did not (a close that threw before its drop,
 * a second store a helper did not track), naming each and the test that made it: so that no
 * run leaves databases on the server, and the test that leaks one is named where it can be fixed.
 */
async function dropLeftovers(prefix: string): Promise<void> {
  const { rows } = await withAdmin((client) =>
    client.query<{ datname: string; made_by: string | null }>(
      `select datname, shobj_description(oid, 'pg_database') as made_by
         from pg_database where starts_with(datname, $1) order by datname`,
      [prefix],
    ),
  );
  for (const { datname } of rows) {
    await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`));
  }
  if (rows.length > 0) {
    const named = rows.map((row) => `  ${row.datname}: ${row.made_by ?? "(unknown test)"}`);
    console.warn(
      `${String(rows.length)} PostgreSQL test database(s) left by their tests, dropped now:\n${named.join("\n")}`,
    );
  }
}
