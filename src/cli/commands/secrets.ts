import type { Command } from "commander";
import { AppError } from "../../app/errors.js";
import type { UnopenedSecret } from "../../app/secrets/reseal-secrets.js";
import { OPERATOR, type CommandKit, type StoreOptions } from "../command-kit.js";

/** `secrets reseal`: every sealed secret sealed again with the first configured key. */
export function registerSecretsCommand(program: Command, kit: CommandKit): void {
  const { out, dbOption, configOption, withApplication } = kit;

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
