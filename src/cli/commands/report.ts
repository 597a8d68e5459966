import type { Command } from "commander";
import { AppError, InvalidInput } from "../../app/errors.js";
import { OPERATOR, type CommandKit, type StoreOptions } from "../command-kit.js";

/** `report compliance`: a tenant's compliance report as JSON. */
export function registerReportCommand(program: Command, kit: CommandKit): void {
  const { out, fail, dbOption, configOption, withReadOnlyApplication } = kit;

  program
    .command("report")
    .description("Reports")
    .command("compliance")
    .description(
      "Print a tenant's compliance report as JSON: its policy and the mandates binding it, its principals' platform MFA enrolment, the exemptions due for review, and the decisions of a period",
    )
    .addOption(dbOption())
    .addOption(configOption())
    .requiredOption("--tenant <tenant>", "the tenant to report on")
    .option("--from <time>", "count decisions from this instant (default: 30 days before --to)")
    .option("--to <time>", "count decisions before this instant (default: now)")
    .option(
      "--due-within-days <days>",
      "flag exemptions expiring within this many days (1–90, default 14)",
    )
    .action(
      (
        options: StoreOptions & {
          tenant: string;
          from?: string;
          to?: string;
          dueWithinDays?: string;
        },
      ) => {
        const { dueWithinDays } = options;
        if (
          dueWithinDays !== undefined &&
          !(
            /^\d{1,2}$/.test(dueWithinDays) &&
            Number(dueWithinDays) >= 1 &&
            Number(dueWithinDays) <= 90
          )
        ) {
          fail("--due-within-days must be a whole number of days from 1 to 90", 2);
          return;
        }
        return withReadOnlyApplication(options, async (opened) => {
          try {
            const report = await opened.app.reports.compliance(OPERATOR, options.tenant, {
              ...(options.from === undefined ? {} : { from: options.from }),
              ...(options.to === undefined ? {} : { to: options.to }),
              ...(dueWithinDays === undefined ? {} : { dueWithinDays: Number(dueWithinDays) }),
            });
            out(JSON.stringify(report, null, 2));
          } catch (error) {
            // What the report refuses as invalid is the period --from and --to give: an invalid
            // option value (exit 2), not a refusal of the store's (exit 1), named by its flag.
            if (!(error instanceof AppError && error.code === "request.invalid")) throw error;
            fail(error instanceof InvalidInput ? error.describe(flagOf) : error.message, 2);
          }
        });
      },
    );
}

/** The flag that gives a use case's input field: `dueWithinDays` is `--due-within-days`. */
const flagOf = (field: string): string =>
  `--${field.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
