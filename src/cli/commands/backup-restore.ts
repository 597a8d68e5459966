import { existsSync } from "node:fs";
import type { Command } from "commander";
import type { Config } from "../../config/config-schema.js";
import { localKeyFile } from "../../main.js";
import {
  restoreSqliteStore,
  type SqliteRestore,
} from "../../storage/sqlite/restore-sqlite-store.js";
import {
  backUpSqliteStore,
  StoreCopyRefused,
  type SqliteBackup,
} from "../../storage/sqlite/back-up-sqlite-store.js";
import { describeStoreUrl } from "../../storage/store-url.js";
import type { CommandKit, StoreOptions } from "../command-kit.js";

/** `backup` and `restore`: a SQLite store copied to a file, and a copy put back in its place. */
export function registerBackupAndRestoreCommands(program: Command, kit: CommandKit): void {
  const { out, now, fail, configFrom, dbOption, configOption, refuseStore, sqliteStoreToCopy } =
    kit;

  program
    .command("backup")
    .description(
      "Copy a SQLite store, in use or not, to a file: one consistent snapshot, checked, for its owner only (PostgreSQL: pg_dump)",
    )
    .addOption(dbOption())
    .addOption(configOption())
    .requiredOption(
      "--to <path>",
      "the file to write, or a folder to write tenant-mfa-<UTC time>.db in",
    )
    .option("--force", "replace the file at --to if there is one")
    .action(async (options: StoreOptions & { to: string; force?: boolean }) => {
      const config = configFrom(options);
      if (config === undefined) return;
      const store = sqliteStoreToCopy(config.db, "backup", "pg_dump");
      // A store of any version: a backup before an upgrade's migrations is what one is for.
      if (store === undefined || (await refuseStore(config.db))) return;
      let backup: SqliteBackup;
      try {
        // The key that opens the store's secrets is never a backup's target (--force).
        const sealingKeyFile = localKeyFile(config);
        backup = backUpSqliteStore(store, options.to, {
          now: now(),
          replace: options.force === true,
          ...(sealingKeyFile === undefined ? {} : { sealingKeyFile }),
        });
      } catch (error) {
        if (!(error instanceof StoreCopyRefused)) throw error;
        fail(error.message, exitCodeOf(error));
        return;
      }
      out(`Backed up ${describeStoreUrl(config.db)} to ${backup.path}: ${describeCopy(backup)}.`);
      out(sealingKeyReminder(config));
      out(`Check it with: tenant-mfa audit verify --db sqlite:${backup.path}`);
    });

  program
    .command("restore")
    .description(
      "Put a backup in place of a SQLite store that no process has open; the store it replaces is kept beside it",
    )
    .addOption(dbOption())
    .addOption(configOption())
    .requiredOption("--from <file>", "the backup to restore (what `tenant-mfa backup` wrote)")
    .action((options: StoreOptions & { from: string }) => {
      const config = configFrom(options);
      if (config === undefined) return;
      const store = sqliteStoreToCopy(config.db, "restore", "pg_restore");
      if (store === undefined) return;
      let restored: SqliteRestore;
      try {
        restored = restoreSqliteStore(options.from, store, { now: now() });
      } catch (error) {
        if (!(error instanceof StoreCopyRefused)) throw error;
        fail(error.message, exitCodeOf(error));
        return;
      }
      // A store given by a link is restored where the link points, the link kept.
      const behindLink = restored.path === store ? "" : ` (the file it links to, ${restored.path})`;
      out(
        `Restored ${options.from} to ${describeStoreUrl(config.db)}${behindLink}: ${describeCopy(restored)}.`,
      );
      out(
        restored.replacedKeptAt === undefined
          ? "No store was there before."
          : `The store it replaced is kept at ${restored.replacedKeptAt}.`,
      );
      out(
        "Everything recorded after the backup was taken is not in the restored store, security changes included: API keys revoked, authenticators removed, recovery codes used or revoked, exemptions revoked, policies and mandates changed and signing keys withdrawn since then are as they were at the backup. Re-apply them (from the audit exports or checkpoints kept elsewhere) before the server takes traffic. A checkpoint taken after the backup no longer matches its chain: `audit verify --checkpoint` says so, which is how an auditor sees the restore.",
      );
      const keyFile = localKeyFile(config);
      out(
        keyFile === undefined
          ? "Its secrets open only with the encryptionKeys that sealed them: configure those."
          : `Its secrets open only with the key file that sealed them, which must be at ${keyFile}${existsSync(keyFile) ? " (a key file is there; if it is another, the server refuses to start, naming the keys it lacks)" : " (none is there: the server refuses to start until it is)"}.`,
      );
    });
}

/** What a backup holds, for the line that reports it. */
function describeCopy(copy: SqliteBackup): string {
  const schema = copy.migrations.at(-1) ?? "no migration";
  return `${String(copy.bytes)} bytes, schema ${schema}, ${String(copy.tenants)} tenant(s), ${String(copy.auditEvents)} audit event(s), ${String(copy.receipts)} receipt(s)`;
}

/** Where the keys that open a backup's sealed secrets are: never in the backup. */
function sealingKeyReminder(config: Config): string {
  const keyFile = localKeyFile(config);
  return keyFile === undefined
    ? "Its secrets are sealed with the configured encryptionKeys, which it does not hold: keep those backed up too, apart from it."
    : `Its secrets are sealed with the key in ${keyFile}, which it does not hold: keep that file backed up too, apart from it. Without it, its TOTP secrets, OIDC client secrets and signing keys cannot be opened.`;
}

/** A copy that failed (damaged, no room) is 1; what the command was given that it refuses, 2. */
function exitCodeOf(refusal: StoreCopyRefused): number {
  return refusal.reason === "copy_damaged" || refusal.reason === "no_room" ? 1 : 2;
}
