import { readFileSync } from "node:fs";
import type { Command } from "commander";
import type { AuditVerification } from "../../app/application.js";
import type { ExportedChainCheck } from "../../app/audit/check-exported-chain.js";
import { describeDamagedRow } from "../../app/damaged-records.js";
import {
  checkExportFiles,
  describeExportCheck,
  identifyKeptKey,
  UnusableFile,
} from "../check-export.js";
import { OPERATOR, type CommandKit, type StoreOptions } from "../command-kit.js";
import { createProgress } from "../progress.js";

/**
 * `audit verify` and `audit checkpoint`: the audit chains checked, and a signed point of one to
 * check it against later.
 */
export function registerAuditCommand(program: Command, kit: CommandKit): void {
  const { io, out, fail, dbOption, configOption, withApplication, withReadOnlyApplication } = kit;

  const audit = program.command("audit").description("Audit chain tools");
  audit
    .command("verify")
    .description(
      "Verify the audit chains; exit 1 and print the first broken link, and each damaged row, if any",
    )
    .addOption(dbOption())
    .addOption(configOption())
    .option("--tenant <tenant>", "verify only this tenant's chain")
    .option(
      "--checkpoint <checkpoint>",
      "also verify against a checkpoint taken earlier: the file `audit checkpoint` printed, or the signed checkpoint itself",
    )
    .option("--json", "print the result as JSON")
    .action((options: StoreOptions & { tenant?: string; checkpoint?: string; json?: boolean }) => {
      const checkpoint =
        options.checkpoint === undefined ? undefined : readCheckpoint(options.checkpoint);
      if (checkpoint !== undefined && "unreadable" in checkpoint) {
        fail(
          `cannot read the checkpoint file ${options.checkpoint ?? ""} (${checkpoint.unreadable})`,
          2,
        );
        return;
      }
      return withReadOnlyApplication(options, async (opened) => {
        const progress = createProgress(io.stderr, "verifying audit chains");
        try {
          const result = await opened.app.audit.verify(
            OPERATOR,
            {
              ...(options.tenant === undefined ? {} : { tenant: options.tenant }),
              ...checkpoint,
            },
            (done) => {
              progress.update(done);
            },
          );
          progress.done();
          if (options.json === true) out(JSON.stringify(result));
          else if (result.broken === undefined) {
            for (const line of describeDamaged(result)) out(line);
            // Checked with the key kept in the file: name it, for the auditor to compare with the
            // key they pinned (the file could carry anyone's).
            const keptKey =
              result.checkpoint === undefined || checkpoint?.checkpointKey === undefined
                ? undefined
                : await identifyKeptKey(checkpoint.checkpointKey);
            const signedBy =
              keptKey === undefined
                ? ""
                : `, signed by key ${keptKey.kid}, thumbprint ${keptKey.thumbprint}`;
            const against =
              result.checkpoint === undefined
                ? ""
                : `, matching the checkpoint of ${result.checkpoint.chain} at event ${String(result.checkpoint.seq)} (issued by ${result.checkpoint.issuer}${signedBy})`;
            // Given one, and none confirmed without a broken link: a key of the store that would
            // check it cannot be read (listed as damaged).
            if (checkpoint !== undefined && result.checkpoint === undefined) {
              out(
                "NOT CONFIRMED: the checkpoint (a signing key of the store that checks it cannot be read); verify against the file `audit checkpoint` printed, which holds its key",
              );
            }
            const verified = `${result.chains} chain(s), ${result.events} event(s) verified${against}`;
            out(
              result.damaged === undefined
                ? `ok: ${verified}`
                : `NOT INTACT: ${String(countDamaged(result))} damaged row(s); the chains verify: ${verified}`,
            );
          } else {
            for (const line of describeDamaged(result)) out(line);
            const { chain, seq, problem } = result.broken;
            // A missing chain has no event to name (seq 0).
            out(`BROKEN: chain ${chain}${seq === 0 ? "" : `, event ${String(seq)}`}: ${problem}`);
            out(`(${result.events} event(s) verified before the first broken link)`);
          }
          if (!result.ok) io.setExitCode(1);
        } catch (error) {
          progress.done();
          throw error;
        }
      });
    });

  audit
    .command("checkpoint")
    .description(
      "Print a signed checkpoint of a tenant's chain (or the platform chain) as JSON: keep it where the operator cannot change it, and verify against it later with `audit verify --checkpoint`",
    )
    .addOption(dbOption())
    .addOption(configOption())
    .option(
      "--tenant <tenant>",
      "the tenant whose chain to checkpoint (default: the platform chain)",
    )
    .action((options: StoreOptions & { tenant?: string }) =>
      withApplication(options, async (opened) => {
        const taken = await opened.app.audit.checkpoint(
          OPERATOR,
          options.tenant === undefined ? {} : { tenant: options.tenant },
        );
        out(JSON.stringify(taken));
      }),
    );

  audit
    .command("check-export")
    .description(
      "Check a chain exported as JSON Lines, with no store: every link, a checkpoint kept with its key, the receipts fetched; exit 1 when it does not hold",
    )
    .argument(
      "<export>",
      "the JSON Lines export (GET …/audit?format=jsonl); - reads standard input",
    )
    .option(
      "--checkpoint <file>",
      "the file `audit checkpoint` printed (the checkpoint and its key)",
    )
    .option(
      "--receipts <file>",
      "receipts as GET /v1/decisions/:id serves them, one per line or a JSON array",
    )
    .option("--json", "print the result as JSON")
    .action(
      async (
        exportFile: string,
        options: { checkpoint?: string; receipts?: string; json?: boolean },
      ) => {
        let result: ExportedChainCheck;
        try {
          result = await checkExportFiles(
            {
              exportFile,
              ...(options.checkpoint === undefined ? {} : { checkpointFile: options.checkpoint }),
              ...(options.receipts === undefined ? {} : { receiptsFile: options.receipts }),
            },
            io.stdin,
          );
        } catch (error) {
          if (!(error instanceof UnusableFile)) throw error;
          fail(error.message, 2);
          return;
        }
        if (options.json === true) out(JSON.stringify(result));
        else for (const line of describeExportCheck(result)) out(line);
        if (!result.ok) io.setExitCode(1);
      },
    );
}

/**
 * The signed checkpoint `value` names: a file holding what `audit checkpoint` printed (the
 * checkpoint and the public key kept with it), the bare checkpoint, or the checkpoint itself.
 * The kept key is what the checkpoint is verified with, when there is one: not the keys the store
 * holds, which whoever can write the store could add to.
 */
function readCheckpoint(
  value: string,
): { checkpoint: string; checkpointKey?: unknown } | { unreadable: string } {
  let text = value;
  try {
    text = readFileSync(value, "utf8").trim();
  } catch (error) {
    // No such file (a JWS is also a long name): the checkpoint itself. A file that is there but
    // cannot be read (a folder, no permission) is named, never taken for a forged checkpoint.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENAMETOOLONG") return { unreadable: code ?? "error" };
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null && "checkpoint" in parsed) {
      return {
        checkpoint: String(parsed.checkpoint),
        ...("key" in parsed ? { checkpointKey: parsed.key } : {}),
      };
    }
  } catch {
    // Not JSON: the bare checkpoint.
  }
  return { checkpoint: text };
}

/**
 * The rows `audit verify` found holding text that is not JSON, for the operator: each one it
 * names, then how many more of each table it counted without naming them.
 */
function describeDamaged(result: AuditVerification): string[] {
  const named = (result.damaged ?? []).map((row) => `DAMAGED: ${describeDamagedRow(row)}`);
  const unlisted = Object.entries(result.damagedUnlisted ?? {}).map(
    ([table, count]) =>
      `DAMAGED: ${String(count)} more ${table} row(s), not listed (the first 100 of each table are)`,
  );
  return [...named, ...unlisted];
}

/** Every damaged row `audit verify` found, named or only counted. */
function countDamaged(result: AuditVerification): number {
  const unlisted = Object.values(result.damagedUnlisted ?? {}).reduce((a, b) => a + b, 0);
  return (result.damaged?.length ?? 0) + unlisted;
}
