import { readFileSync } from "node:fs";
import { Command } from "commander";
import type { AuditVerification } from "../app/application.js";
import { describeDamagedRow } from "../app/damaged-records.js";
import { AppError, InvalidInput } from "../app/errors.js";
import type { UnopenedSecret } from "../app/secrets/reseal-secrets.js";
import { parseTime } from "../core/time.js";
import { evaluate, type EvaluationInput } from "../index.js";
import type { PublishedSigningKey } from "../app/assurance/signing-keys.js";
import type { CliIo } from "./cli-io.js";
import { createCommandKit, OPERATOR, type StoreOptions } from "./command-kit.js";
import { registerBackupAndRestoreCommands } from "./commands/backup-restore.js";
import { registerBootstrapCommand } from "./commands/bootstrap.js";
import { registerMigrateCommand } from "./commands/migrate.js";
import { registerServeCommand } from "./commands/serve.js";
import { demoScenarios } from "./demo-scenarios.js";
import { createProgress } from "./progress.js";
import { readAnswer } from "./read-answer.js";
import { renderDecision } from "./render-decision.js";

export type { CliIo } from "./cli-io.js";

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

const indent = (text: string): string => text.replace(/^/gm, "  ");

/** The flag that gives a use case's input field: `dueWithinDays` is `--due-within-days`. */
const flagOf = (field: string): string =>
  `--${field.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;

/** Builds the `tenant-mfa` command line. */
export function createProgram(io: CliIo): Command {
  const kit = createCommandKit(io);
  const { out, fail, dbOption, configOption, withApplication, withReadOnlyApplication } = kit;

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
            const against =
              result.checkpoint === undefined
                ? ""
                : `, matching the checkpoint of ${result.checkpoint.chain} at event ${String(result.checkpoint.seq)} (issued by ${result.checkpoint.issuer})`;
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

  program
    .command("secrets")
    .description("Secrets at rest")
    .command("reseal")
    .description(
      "Re-seal every sealed secret (TOTP secrets, OIDC client secrets, PKCE verifiers of pending OIDC sign-ins, assurance-token signing keys) with the first of the configured encryption keys (key rotation)",
    )
    .addOption(dbOption())
    .addOption(configOption())
    .action((options: StoreOptions) =>
      withApplication(options, async (opened) => {
        const report = await opened.resealSecrets(OPERATOR.id);
        out(
          `Re-sealed ${String(report.totpSecrets)} TOTP secret(s) and ${String(report.idpClientSecrets)} IdP client secret(s) in ${String(report.tenants)} tenant(s), ${String(report.pkceVerifiers)} PKCE verifier(s) of pending OIDC sign-ins, and ${String(report.signingKeys)} signing key(s).`,
        );
        if (report.expiredTotpEnrolments !== undefined) {
          out(
            `Left ${String(report.expiredTotpEnrolments)} TOTP secret(s) of enrolments past their time as they were: never confirmed, never opened again, and purged.`,
          );
        }
        const unopened = report.unopened ?? [];
        for (const value of unopened) out(`NOT OPENED: ${describeUnopened(value)}`);
        // A pending sign-in's verifier fails its sign-in closed and expires within minutes:
        // nothing to replace. Any other value stays sealed with a key that must not go yet.
        const lasting = unopened.filter((value) => value.kind !== "pkce_verifier").length;
        if (lasting > 0) {
          throw new AppError(
            "secret.reseal_incomplete",
            `secret.reseal_incomplete: ${String(lasting)} sealed value(s) could not be opened with the configured keys (listed above) and were left as they were; every other value was re-sealed. Keep the key that sealed them configured until each is replaced (a TOTP authenticator removed and enrolled again, an IdP's client secret registered again; a signing key, kept for good, restored from a backup or withdrawn with \`keys withdraw\`), or restore the key that opens them and run this again.`,
          );
        }
      }),
    );

  /**
   * Whether the operator confirms that `keys rotate --compromised` withdraws `published`, every
   * token they signed with them: at a terminal, after their kids and what each does are listed,
   * by typing the word shown (or `yes`); without one, never (`--yes` says it instead), and the
   * refusal names them. A refusal is the command's failure; the store is left as it was.
   */
  async function confirmWithdrawal(published: readonly PublishedSigningKey[]): Promise<boolean> {
    const what =
      "keys rotate --compromised withdraws every published signing key at once" +
      `${published.length === 0 ? "" : ` (${published.map((key) => key.kid).join(", ")})`}: ` +
      "every assurance token they signed stops verifying.";
    if (io.stdin?.isTTY !== true) {
      fail(`${what} Without a terminal to confirm it at, give --yes. Nothing was changed.`, 2);
      return false;
    }
    // None published (a store whose first key is not made yet): nothing to withdraw.
    if (published.length === 0) return true;
    io.stderr.write(
      `${[
        `tenant-mfa: keys rotate --compromised withdraws every published signing key at once: every assurance token they signed stops verifying.`,
        ...published.map((key) => `  ${key.kid} (${describePublished(key)})`),
        "A new key signs from now on.",
      ].join("\n")}\nType ${CONFIRMATION_WORD} (or yes) to withdraw them: `,
    );
    const answer = (await readAnswer(io.stdin))?.trim().toLowerCase();
    if (answer === CONFIRMATION_WORD || answer === "yes") return true;
    if (answer === undefined) io.stderr.write("\n");
    fail("not confirmed: no key was withdrawn.");
    return false;
  }

  const keys = program.command("keys").description("Assurance-token signing keys");
  keys
    .command("withdraw")
    .description(
      "Withdraw signing keys whose private part no configured encryption key opens (its key lost, or its stored value altered), so that the encryption key they name can be dropped: each stops signing and leaves the JWK Set now, audited; its public part is kept. Without a kid, list them",
    )
    .argument("[kid...]", "the signing keys to withdraw, as listed")
    .addOption(dbOption())
    .addOption(configOption())
    .action((kids: string[], options: StoreOptions) =>
      withApplication(
        options,
        async (opened) => {
          if (kids.length === 0) {
            const unopenable = await opened.listUnopenableSigningKeys();
            for (const key of unopenable) {
              out(
                `UNOPENABLE: signing key ${key.kid}, sealed with ${key.sealedWith === "" ? "no key" : key.sealedWith}, ${key.published ? "published" : `removed at ${key.removedAt}`}`,
              );
            }
            out(
              unopenable.length === 0
                ? "Every signing key opens with the configured keys: nothing to withdraw."
                : "Withdraw each with `tenant-mfa keys withdraw KID…`.",
            );
            return;
          }
          for (const kid of kids) {
            const key = await opened.withdrawSigningKey(kid, OPERATOR.id);
            out(
              `Withdrew signing key ${key.kid} (sealed with ${key.sealedWith === "" ? "no key" : key.sealedWith}, which no configured key opens): it signs no more and left the JWK Set; its public part is kept.`,
            );
          }
        },
        // Without a kid it only lists: a store that is behind is refused, never migrated.
        { acceptsMissingKeys: true, readsOnly: kids.length === 0 },
      ),
    );
  keys
    .command("rotate")
    .description(
      "Rotate the signing key now; the old key stays in the JWK Set until its tokens expired, unless --compromised",
    )
    .option(
      "--compromised",
      "withdraw every earlier key from the JWK Set at once (asks first: lists them and waits for the word shown)",
    )
    .option("--yes", "with --compromised: do not ask (needed without a terminal: scripts, CI)")
    .addOption(dbOption())
    .addOption(configOption())
    .action(async (options: StoreOptions & { compromised?: boolean; yes?: boolean }) => {
      // What the operator confirmed is all that may be withdrawn: a key published meanwhile
      // (another instance's rotation) was never shown, and the rotation is refused. The keys are
      // listed and the question asked over the store opened read-only, so that a declined
      // rotation changes nothing, not even the schema of a store that is behind (refused then).
      let confirmed: readonly string[] | undefined;
      if (options.compromised === true && options.yes !== true) {
        await withReadOnlyApplication(options, async (opened) => {
          const published = await opened.app.assurance.publishedSigningKeys(OPERATOR);
          if (await confirmWithdrawal(published)) confirmed = published.map((key) => key.kid);
        });
        if (confirmed === undefined) return;
      }
      return withApplication(options, async (opened) => {
        const { kid } = await opened.app.assurance.rotateSigningKey(OPERATOR, {
          compromised: options.compromised === true,
          ...(confirmed === undefined ? {} : { confirmed }),
        });
        out(
          options.compromised === true
            ? `Signing with ${kid}; every earlier key was withdrawn.`
            : `Signing with ${kid}; the earlier key stays published until its tokens expired.`,
        );
      });
    });

  program
    .command("demo")
    .description("Evaluate a few example sign-ins and print the decisions")
    .action(() => {
      const now = new Date();
      for (const scenario of demoScenarios(now)) {
        const decision = evaluate(scenario.input, { now });
        out(`\n▶ ${scenario.title}\n${indent(renderDecision(decision))}`);
      }
    });

  program
    .command("evaluate")
    .description(
      "Evaluate one input (JSON, from FILE or standard input) and print the decision as JSON",
    )
    .argument("[file]", "input file; standard input when absent")
    .option("--now <iso>", "the instant to decide at (default: now)")
    .action((file: string | undefined, options: { now?: string }) => {
      // Read as the engine reads times (ISO 8601 with a zone): `new Date` would take "1" as the
      // year 2001, and an invalid date would be decided on all the same (a deny, exit code 0).
      const at = options.now === undefined ? Date.now() : parseTime(options.now);
      if (at === undefined) {
        fail(`--now takes an ISO 8601 time, not ${JSON.stringify(options.now)}`, 2);
        return;
      }
      const now = new Date(at);
      let text: string;
      try {
        text = readFileSync(file ?? 0, "utf8");
      } catch (error) {
        const reason = (error as NodeJS.ErrnoException).code ?? "error";
        fail(`cannot read the input ${file ?? "(standard input)"} (${reason})`, 2);
        return;
      }
      let input: EvaluationInput;
      try {
        input = JSON.parse(text) as EvaluationInput;
      } catch (error) {
        fail(`the input is not JSON: ${(error as Error).message}`, 2);
        return;
      }
      out(JSON.stringify(evaluate(input, { now }), null, 2));
    });

  return program;
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

/** A sealed value `secrets reseal` could not open, by kind and where it is (never its value). */
function describeUnopened(value: UnopenedSecret): string {
  const tenant = value.tenant === undefined ? "" : ` in tenant ${value.tenant}`;
  switch (value.kind) {
    case "totp_secret":
      return `TOTP secret of authenticator ${value.id} of principal ${value.principal ?? ""}${tenant}`;
    case "idp_client_secret":
      return `OIDC client secret of IdP ${value.id}${tenant}`;
    case "signing_key":
      return `assurance-token signing key ${value.id}`;
    case "pkce_verifier":
      return `PKCE verifier of pending OIDC sign-in sha256:${value.id}${tenant} (its sign-in will fail; left to expire at ${value.expiresAt ?? ""})`;
  }
}

/** What the operator types to confirm `keys rotate --compromised` at a terminal (or `yes`). */
const CONFIRMATION_WORD = "withdraw";

/** What a published signing key does, for the operator asked to withdraw it. */
function describePublished(key: PublishedSigningKey): string {
  switch (key.status) {
    case "signing":
      return `signing now, since ${key.activatesAt}`;
    case "successor":
      return `published ahead, to sign from ${key.activatesAt}`;
    case "retired":
      return `retired, published until ${key.removedAt}`;
    case "superseded":
      return `superseded, published until ${key.removedAt}`;
  }
}
