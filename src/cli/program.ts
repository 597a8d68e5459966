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

  withoutSecretsInUsageErrors(program, "tenant-mfa");
  return program;
}

/**
 * Has `command` and each of its subcommands word their usage errors with {@link withoutSecrets},
 * naming the command whose help lists what it takes.
 */
function withoutSecretsInUsageErrors(command: Command, path: string): void {
  command.configureOutput({
    outputError: (text, write) => {
      write(withoutSecrets(text, path));
    },
  });
  for (const sub of command.commands) withoutSecretsInUsageErrors(sub, `${path} ${sub.name()}`);
}

const UNKNOWN_OPTION = "error: unknown option '";
const UNKNOWN_COMMAND = "error: unknown command '";

/**
 * A usage error as commander words it, except that what it would quote of a secret is left out:
 * an unknown option given as `--name=value` is named without its value (a mistyped
 * `--db-url=postgres://app:PW@…` would put the store's password on stderr, as a mistyped
 * variable's value never is), and an unknown command is not named at all (a password or key
 * pasted where a command belongs). Commander's suggestion, which names only a known command, is
 * kept.
 */
function withoutSecrets(text: string, path: string): string {
  if (text.startsWith(UNKNOWN_COMMAND)) {
    // Commander's words: `error: unknown command 'NAME'`, then `\n(Did you mean …?)` if any.
    const suggestion = /\n\(Did you mean [\w-]+\?\)\n$/.exec(text)?.[0] ?? "\n";
    return `error: unknown command (not shown); see ${path} --help${suggestion}`;
  }
  if (!text.startsWith(UNKNOWN_OPTION)) return text;
  const flag = text.slice(UNKNOWN_OPTION.length);
  const equals = flag.indexOf("=");
  return equals === -1 ? text : `${UNKNOWN_OPTION}${flag.slice(0, equals)}=…'\n`;
}
