import { existsSync, statSync } from "node:fs";
import { Option } from "commander";
import type { Caller } from "../app/application.js";
import { AppError } from "../app/errors.js";
import { ConfigError, loadConfig } from "../config/load-config.js";
import { findUnknownVariables, unknownVariableWarning } from "../config/unknown-variables.js";
import { openApplication, SealingKeysMissing, type OpenedApplication } from "../main.js";
import {
  checkStoreExists,
  checkStoreMigrated,
  StoreNotFound,
  StoreNotMigrated,
  StoreNotReadable,
} from "../storage/open-store.js";
import { findStoreUnreachable } from "../storage/store-unreachable.js";
import { describeStoreUrl, parseStoreUrl, storeUrlHasPassword } from "../storage/store-url.js";
import type { CliIo } from "./cli-io.js";

/** The operator at the terminal: a platform administrator by virtue of holding the store. */
export const OPERATOR: Caller = {
  id: "cli",
  name: "tenant-mfa CLI operator",
  roles: ["platform_admin"],
  tenants: "all",
};

/** The options that name the store a command acts on (`--db`, `--config`). */
export interface StoreOptions {
  db?: string;
  config?: string;
}

/** What every command is built with: {@link createCommandKit} over one run's {@link CliIo}. */
export type CommandKit = ReturnType<typeof createCommandKit>;

/**
 * What the commands share: their output and failures over `io`, the store options, and the
 * opening of the configured store, each refusing what a command must not act on. Made once per
 * program: it remembers what it already warned of.
 */
export function createCommandKit(io: CliIo) {
  const out = (line: string) => io.stdout.write(`${line}\n`);
  const now = io.now ?? (() => new Date());
  const fail = (message: string, code = 1) => {
    io.stderr.write(`tenant-mfa: ${message}\n`);
    io.setExitCode(code);
  };
  let warnedOfPassword = false;
  /**
   * Loads the configuration; reports a ConfigError and returns undefined. Names on stderr each
   * `TENANT_MFA_*` variable that nothing reads, unless `serving`: the server's log says it then;
   * and warns, once, of a `--db` that holds a password.
   */
  const configFrom = (
    options: StoreOptions,
    more: Record<string, unknown> = {},
    { serving = false } = {},
  ) => {
    if (!serving) {
      for (const unknown of findUnknownVariables(io.env)) {
        io.stderr.write(`tenant-mfa: warning: ${unknownVariableWarning(unknown)}\n`);
      }
    }
    // Still accepted (scripts pass it so), but every local user reads a command line (`ps`).
    if (options.db !== undefined && storeUrlHasPassword(options.db) && !warnedOfPassword) {
      warnedOfPassword = true;
      io.stderr.write(
        `tenant-mfa: warning: --db holds the store's password (${describeStoreUrl(options.db)}) on the command line, where every user of this machine can read it (ps, /proc) while the command runs: give the URL in TENANT_MFA_DB (or the configuration file) instead, or leave the password out of it and set PGPASSWORD or a ~/.pgpass file.\n`,
      );
    }
    try {
      return loadConfig({
        ...(options.config === undefined ? {} : { file: options.config }),
        env: io.env,
        overrides: { db: options.db, ...more },
      });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      fail(error.message, 2);
      return undefined;
    }
  };
  const dbOption = () =>
    new Option(
      "--db <url>",
      "store: sqlite:PATH, sqlite::memory: or postgres://… (env TENANT_MFA_DB)",
    );
  const configOption = () => new Option("--config <file>", "JSON configuration file");
  /**
   * Reports a store whose database cannot be connected to (exit code 2), named with its password
   * masked; true when `error` is (or was caused by) one.
   */
  const failUnreachable = (error: unknown): boolean => {
    const unreachable = findStoreUnreachable(error);
    if (unreachable === undefined) return false;
    fail(unreachable.message, 2);
    return true;
  };
  /**
   * Opens the application, or reports a store holding secrets sealed with keys it is not given
   * (its key file gone, say: exit code 2), or one that cannot be connected to (exit code 2).
   */
  const openOrFail = async <T>(open: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await open();
    } catch (error) {
      if (failUnreachable(error)) return undefined;
      if (!(error instanceof SealingKeysMissing)) throw error;
      fail(error.message, 2);
      return undefined;
    }
  };
  /**
   * Reports a store that a command acting on an existing one cannot use (exit code 2): no file
   * at a SQLite path (opening a mistyped one would make an empty store), a database that holds no
   * store (the wrong PostgreSQL database of the server, an empty file: migrating it would make a
   * store there and act on it instead), one that cannot be read or connected to, and, when the
   * command must be `current` (it reads the store as this version does, never migrating it), one
   * whose schema is behind this version. True when the store is refused.
   */
  const refuseStore = async (db: string, { current = false } = {}): Promise<boolean> => {
    const file = sqliteFile(db);
    if (file !== undefined && !existsSync(file)) {
      fail(`no store at ${file}: give the store's --db (or TENANT_MFA_DB)`, 2);
      return true;
    }
    if (file !== undefined && !statSync(file).isFile()) {
      fail(
        `${file} is not a file (a folder?): give the store's file in --db (or TENANT_MFA_DB)`,
        2,
      );
      return true;
    }
    try {
      await checkStoreExists(db);
      if (current) await checkStoreMigrated(db);
      return false;
    } catch (error) {
      if (failUnreachable(error)) return true;
      if (error instanceof StoreNotFound) {
        fail(
          `no tenant-mfa store in ${describeStoreUrl(db)}: give the store's --db (or TENANT_MFA_DB); \`tenant-mfa migrate\` sets up a new one`,
          2,
        );
        return true;
      }
      if (error instanceof StoreNotReadable) {
        fail(`cannot read the store ${describeStoreUrl(db)}: ${error.message}`, 2);
        return true;
      }
      if (!(error instanceof StoreNotMigrated)) throw error;
      fail(
        `the store ${describeStoreUrl(db)} is behind this version of tenant-mfa: run \`tenant-mfa migrate\` on it first (this command only reads a store, it never migrates one)`,
        2,
      );
      return true;
    }
  };
  /**
   * The SQLite file that `backup` or `restore` copies; undefined, reported (exit code 2), for
   * a PostgreSQL store (`tool` is PostgreSQL's own) or an in-memory one.
   */
  const sqliteStoreToCopy = (db: string, command: string, tool: string): string | undefined => {
    const location = parseStoreUrl(db);
    if (location.dialect === "postgres") {
      fail(
        `${command} copies a SQLite store; use ${tool} for a PostgreSQL store (README, Backing up and restoring)`,
        2,
      );
      return undefined;
    }
    if (location.path === ":memory:") {
      fail(`an in-memory store ends with its process: it has no ${command}`, 2);
      return undefined;
    }
    return location.path;
  };
  /**
   * Runs `use` on the application over the configured store, and closes it after; a refusal of
   * the application (an AppError) is the command's failure, anything else a bug to throw. The
   * store must exist: opening a mistyped SQLite path would make an empty one, which `audit
   * verify` would call intact and `keys rotate --compromised` would rotate instead of the real one.
   * A command that `readsOnly` must not change the store either: one whose schema is behind this
   * version is refused rather than migrated, and opening a current one migrates nothing.
   */
  const withApplication = async (
    options: StoreOptions,
    use: (opened: OpenedApplication) => Promise<void>,
    { readsOnly = false, acceptsMissingKeys = false } = {},
  ): Promise<void> => {
    const config = configFrom(options);
    if (config === undefined) return;
    if (await refuseStore(config.db, { current: readsOnly })) return;
    const opened = await openOrFail(() =>
      openApplication(config, undefined, {
        readOnly: readsOnly,
        acceptMissingSealingKeys: acceptsMissingKeys,
      }),
    );
    if (opened === undefined) return;
    try {
      await use(opened);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      fail(error.message);
    } finally {
      await opened.close();
    }
  };

  /** {@link withApplication} for a command that only reads the store. */
  const withReadOnlyApplication = (
    options: StoreOptions,
    use: (opened: OpenedApplication) => Promise<void>,
  ) => withApplication(options, use, { readsOnly: true });

  return {
    io,
    out,
    now,
    fail,
    configFrom,
    dbOption,
    configOption,
    failUnreachable,
    openOrFail,
    refuseStore,
    sqliteStoreToCopy,
    withApplication,
    withReadOnlyApplication,
  };
}

/** The file of a SQLite store URL; undefined for an in-memory or a PostgreSQL store. */
function sqliteFile(url: string): string | undefined {
  const location = parseStoreUrl(url);
  return location.dialect === "sqlite" && location.path !== ":memory:" ? location.path : undefined;
}
