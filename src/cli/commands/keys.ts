import type { Command } from "commander";
import type { PublishedSigningKey } from "../../app/assurance/signing-keys.js";
import { OPERATOR, type CommandKit, type StoreOptions } from "../command-kit.js";
import { readAnswer } from "../read-answer.js";

/** `keys withdraw` and `keys rotate`: the assurance-token signing keys. */
export function registerKeysCommand(program: Command, kit: CommandKit): void {
  const { out, dbOption, configOption, withApplication, withReadOnlyApplication } = kit;

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
          if (await confirmWithdrawal(kit, published)) confirmed = published.map((key) => key.kid);
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
}

/**
 * Whether the operator confirms that `keys rotate --compromised` withdraws `published`, every
 * token they signed with them: at a terminal, after their kids and what each does are listed,
 * by typing the word shown (or `yes`); without one, never (`--yes` says it instead), and the
 * refusal names them. A refusal is the command's failure; the store is left as it was.
 */
async function confirmWithdrawal(
  kit: CommandKit,
  published: readonly PublishedSigningKey[],
): Promise<boolean> {
  const { io, fail } = kit;
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
