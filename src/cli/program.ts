import { Command } from "commander";
import type { CliIo } from "./cli-io.js";
import { createCommandKit } from "./command-kit.js";
import { registerAuditCommand } from "./commands/audit.js";
import { registerBackupAndRestoreCommands } from "./commands/backup-restore.js";
import { registerBootstrapCommand } from "./commands/bootstrap.js";
import { registerDemoCommand } from "./commands/demo.js";
import { registerEvaluateCommand } from "./commands/evaluate.js";
import { registerKeysCommand } from "./commands/keys.js";
import { registerMigrateCommand } from "./commands/migrate.js";
import { registerReportCommand } from "./commands/report.js";
import { registerSecretsCommand } from "./commands/secrets.js";
import { registerServeCommand } from "./commands/serve.js";

export type { CliIo } from "./cli-io.js";

/**
 * Builds the `tenant-mfa` command line: one module a command (or group of subcommands) under
 * ./commands, registered in the order `--help` lists them.
 */
export function createProgram(io: CliIo): Command {
  const kit = createCommandKit(io);
  const program = new Command()
    .name("tenant-mfa")
    .description("Decide and enforce how each organisation proves multi-factor authentication.")
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => {
        write(withoutOptionValue(text));
      },
    });

  registerServeCommand(program, kit);
  registerMigrateCommand(program, kit);
  registerBackupAndRestoreCommands(program, kit);
  registerBootstrapCommand(program, kit);
  registerAuditCommand(program, kit);
  registerReportCommand(program, kit);
  registerSecretsCommand(program, kit);
  registerKeysCommand(program, kit);
  registerDemoCommand(program, kit);
  registerEvaluateCommand(program, kit);

  return program;
}

const UNKNOWN_OPTION = "error: unknown option '";

/**
 * A usage error as commander words it, except that an unknown option given as `--name=value` is
 * named without its value: commander quotes it whole, and a mistyped `--db-url=postgres://app:PW@…`
 * would put the store's password on stderr, as a mistyped variable's value never is.
 */
function withoutOptionValue(text: string): string {
  if (!text.startsWith(UNKNOWN_OPTION)) return text;
  const flag = text.slice(UNKNOWN_OPTION.length);
  const equals = flag.indexOf("=");
  return equals === -1 ? text : `${UNKNOWN_OPTION}${flag.slice(0, equals)}=…'\n`;
}
