import type { Command } from "commander";
import { AppError } from "../../app/errors.js";
import { openApplication } from "../../main.js";
import type { CommandKit, StoreOptions } from "../command-kit.js";

/** `bootstrap`: the first platform administrator API key. */
export function registerBootstrapCommand(program: Command, kit: CommandKit): void {
  const { out, fail, configFrom, dbOption, configOption, openOrFail } = kit;

  program
    .command("bootstrap")
    .description("Create the first platform administrator API key and print its secret once")
    .addOption(dbOption())
    .addOption(configOption())
    .option("--name <name>", "the key's name", "bootstrap platform admin")
    .option("--holder <holder>", "the person or system accountable for the key")
    .option("--force", "create another platform administrator key even if one exists")
    .action(async (options: StoreOptions & { name: string; holder?: string; force?: boolean }) => {
      const config = configFrom(options);
      if (config === undefined) return;
      const opened = await openOrFail(() => openApplication(config));
      if (opened === undefined) return;
      try {
        const { key, secret } = await opened.bootstrap({
          name: options.name,
          ...(options.holder === undefined ? {} : { holder: options.holder }),
          ...(options.force === true ? { force: true } : {}),
        });
        out(`Created platform administrator key ${key.id} ("${key.name}").`);
        out("Its secret is shown this once; store it now:");
        out(secret);
      } catch (error) {
        if (!(error instanceof AppError && error.code === "bootstrap.exists")) throw error;
        fail("a platform administrator key exists; pass --force to create another.");
      } finally {
        await opened.close();
      }
    });
}
