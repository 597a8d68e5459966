import { execFileSync } from "node:child_process";
import type { TotpParameters } from "../../../app/authenticators/totp-protocol.js";

/**
 * The code Debian's `oathtool` (oath-toolkit) computes for the base32 `secret` at `at`: the
 * independent TOTP peer of the tests.
 */
export function oathtoolCode(
  secret: string,
  at: Date,
  parameters: TotpParameters = { algorithm: "SHA1", digits: 6, period: 30 },
): string {
  const mode = parameters.algorithm === "SHA1" ? "--totp" : `--totp=${parameters.algorithm}`;
  const args = [mode, "-b", secret, "-N", `@${String(Math.floor(at.getTime() / 1000))}`];
  args.push(
    "--digits",
    String(parameters.digits),
    "--time-step-size",
    `${String(parameters.period)}s`,
  );
  return execFileSync("/usr/bin/oathtool", args, { encoding: "utf8" }).trim();
}
