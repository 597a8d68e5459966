import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Secret, TOTP } from "otpauth";
import { bootstrapPlatformAdmin } from "../../../src/app/api-keys/api-keys.js";
import type { Application, Caller } from "../../../src/app/application.js";
import { DEFAULT_SETTINGS, type Context } from "../../../src/app/context.js";
import { createApplication } from "../../../src/app/create-application.js";
import { cryptoRandom } from "../../../src/main.js";
import { createAesGcmSealer } from "../../../src/secrets/aes-gcm-sealer.js";
import { keyFromFile } from "../../../src/secrets/sealing-keys.js";
import { openStore } from "../../../src/storage/open-store.js";
import { createTotpProtocol } from "../../../src/verifiers/totp/index.js";
import { countingTransactions } from "../federation/application.js";
import { PERIOD_S, StepClock } from "./step-clock.js";

/** The bench's tenant; its posture is `platform_mfa`. */
export const TENANT = "acme";

/** One enrolled and confirmed principal, with the codes its app will show. */
export interface EnrolledPrincipal {
  readonly principal: string;
  readonly authenticator: string;
  /** The TOTP secret, base32 without padding, as the enrolment showed it once. */
  readonly secret: string;
  /** `codes[i]` is the code of time step `firstStep + i`. */
  readonly codes: readonly string[];
}

/** The application, its clock and its enrolled principals, over a SQLite file. */
export interface TotpBench {
  readonly app: Application & { close(): Promise<void> };
  readonly admin: Caller;
  /** A `platform_service` caller of `acme`: it verifies codes and asks for decisions. */
  readonly service: Caller;
  readonly clock: StepClock;
  readonly principals: readonly EnrolledPrincipal[];
  /** The time step of a principal's first sign-in (the one after its confirmation's). */
  readonly firstStep: number;
  readonly dbPath: string;
  /** Authenticators enrolled again because their codes repeated within two steps. */
  readonly reEnrolled: number;
  /** `Store.transaction` calls so far (on SQLite, concurrent ones share one commit). */
  transactions(): number;
  close(): Promise<void>;
}

/** The code of `secret` at `step`, as an authenticator app shows it (SHA-1, 6 digits, 30 s). */
export function codeAt(secret: string, step: number): string {
  return TOTP.generate({
    secret: Secret.fromBase32(secret),
    algorithm: "SHA1",
    digits: 6,
    period: PERIOD_S,
    timestamp: StepClock.timeOf(step),
  });
}

/**
 * True when two of `codes` (consecutive steps) within two steps of each other are equal. The
 * verifier accepts the latest step of its window a code matches, so such a pair could make a
 * sign-in accept the next step and its successor fail as a replay: a false failure of the
 * bench, about once in 10⁶ codes, that re-enrolling the principal (a new secret) rules out.
 */
function repeatsWithinTwoSteps(codes: readonly string[]): boolean {
  for (let i = 0; i < codes.length; i++) {
    if (codes[i] === codes[i + 1] || codes[i] === codes[i + 2]) return true;
  }
  return false;
}

/**
 * Opens the store at `sqlite:<tmp>/tenant-mfa.db` (WAL, `synchronous=NORMAL`, as in
 * production) and builds the application as `openApplication` does (AES-GCM sealer keyed from
 * the file beside the database, `createTotpProtocol()`, `cryptoRandom`), except for the clock: a
 * {@link StepClock} the bench moves. Sets up, through the use cases, tenant `acme` with posture
 * `platform_mfa`, a `platform_service` key, and `count` `direct` principals, each with a TOTP
 * authenticator enrolled and confirmed at the clock's first step. Their codes are computed for
 * `steps` sign-ins each (plus two steps of margin).
 */
export async function openTotpBench(options: {
  readonly count: number;
  readonly steps: number;
  readonly log: (line: string) => void;
}): Promise<TotpBench> {
  const dir = mkdtempSync(join(tmpdir(), "tenant-mfa-bench-totp-"));
  const dbPath = join(dir, "tenant-mfa.db");
  const { store, count: transactions } = countingTransactions(await openStore(`sqlite:${dbPath}`));
  const confirmStep = Math.floor(Date.now() / 1000 / PERIOD_S);
  const firstStep = confirmStep + 1;
  const clock = new StepClock(confirmStep);
  const context: Context = { store, clock, random: cryptoRandom, settings: DEFAULT_SETTINGS };
  const app = createApplication({
    ...context,
    secrets: createAesGcmSealer([keyFromFile(join(dir, "encryption-key.json"))]),
    totp: createTotpProtocol(),
  });
  const close = async (): Promise<void> => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const { secret: adminKey } = await bootstrapPlatformAdmin(context, {
      name: "bench platform admin",
    });
    const admin = await app.authenticate(adminKey);
    await app.tenants.create(admin, { id: TENANT, name: "Acme" });
    await app.policies.replace(admin, TENANT, {
      policy: { posture: "platform_mfa" },
      rationale: "Our people prove a second factor on the platform",
      ifMatch: 1,
    });
    const { secret: serviceKey } = await app.apiKeys.create(admin, {
      name: "bench platform service",
      roles: ["platform_service"],
      tenants: [TENANT],
    });
    const service = await app.authenticate(serviceKey);

    const principals: EnrolledPrincipal[] = [];
    let reEnrolled = 0;
    for (let index = 0; index < options.count; index++) {
      const principal = `user${String(index).padStart(6, "0")}`;
      await app.principals.upsert(admin, TENANT, principal, { population: "direct" });
      for (;;) {
        const { secret, authenticator } = await app.authenticators.beginTotp(
          service,
          TENANT,
          principal,
          { name: "phone" },
        );
        // Steps confirmStep … firstStep + steps + 1: the confirmation, every sign-in, and the
        // two steps past the last that its window reaches.
        const codes = Array.from({ length: options.steps + 3 }, (_, i) =>
          codeAt(secret, confirmStep + i),
        );
        if (repeatsWithinTwoSteps(codes)) {
          await app.authenticators.remove(admin, TENANT, principal, authenticator.id);
          reEnrolled++;
          continue;
        }
        await app.authenticators.confirmTotp(service, TENANT, principal, authenticator.id, {
          code: codes[0] ?? "",
        });
        principals.push({
          principal,
          authenticator: authenticator.id,
          secret,
          codes: codes.slice(1),
        });
        break;
      }
      if ((index + 1) % 256 === 0) {
        options.log(`  ${String(index + 1)}/${String(options.count)} enrolled and confirmed`);
      }
    }
    return {
      app,
      admin,
      service,
      clock,
      principals,
      firstStep,
      dbPath,
      reEnrolled,
      transactions,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
