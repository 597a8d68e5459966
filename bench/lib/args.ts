/** What the command line asked for. */
export interface BenchArgs {
  readonly json: boolean;
  readonly quick: boolean;
  readonly list: boolean;
  readonly help: boolean;
  /** Section names from `--only`, in the order given; empty means every section. */
  readonly only: readonly string[];
}

/** A command line the harness cannot run: exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export const USAGE = `Usage: npm run bench -- [options]

Options:
  --json           print the figures as one JSON object keyed by section, nothing else on stdout
  --only SECTION   run only this section (repeat or separate by commas for several)
  --quick          short warm-up and rounds: a smoke test, not figures to quote
  --list           list the sections and exit
  -h, --help       show this help and exit`;

/** Parses the arguments after `npm run bench --`. Throws {@link UsageError} on anything unknown. */
export function parseArgs(argv: readonly string[]): BenchArgs {
  let json = false;
  let quick = false;
  let list = false;
  let help = false;
  const only: string[] = [];
  const addOnly = (value: string | undefined): void => {
    if (value === undefined || value === "" || value.startsWith("-")) {
      throw new UsageError("--only needs a section name");
    }
    for (const name of value.split(",")) if (name !== "") only.push(name);
  };
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index];
    if (arg === "--json") json = true;
    else if (arg === "--quick") quick = true;
    else if (arg === "--list") list = true;
    else if (arg === "--help" || arg === "-h") help = true;
    else if (arg === "--only") addOnly(argv[++index]);
    else if (arg?.startsWith("--only=")) addOnly(arg.slice("--only=".length));
    else throw new UsageError(`unknown argument: ${String(arg)}`);
  }
  return { json, quick, list, help, only };
}
