import type { Command } from "commander";
import { migrateStore } from "../../storage/open-store.js";
import type { CommandKit, StoreOptions } from "../command-kit.js";

/** `migrate`: applies the store's pending migrations. */
export function registerMigrateCommand(program: Command, kit: CommandKit): void {
  const { out, configFrom, dbOption, configOption, failUnreachable } = kit;

  program
    .command("migrate")
    .description("Apply pending store migrations")
    .addOption(dbOption())
    .addOption(configOption())
    .action(async (options: StoreOptions) => {
      const config = configFrom(options);
      if (config === undefined) return;
      let applied: readonly string[];
      try {
        applied = await migrateStore(config.db);
      } catch (error) {
        if (failUnreachable(error)) return;
        throw error;
      }
      out(
        applied.length === 0
          ? "The store is up to date."
          : `Applied ${applied.length} migration(s): ${applied.join(", ")}`,
      );
    });
}
