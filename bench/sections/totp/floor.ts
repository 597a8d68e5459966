import { dirname, join } from "node:path";
import Sqlite from "better-sqlite3";
import { totpSecretContext } from "../../../src/app/authenticators/authenticators.js";
import { chainOf, linkEvent } from "../../../src/app/audit/audit-chain.js";
import type { SecretSealer } from "../../../src/app/ports.js";
import type { AuthenticationEvent } from "../../../src/core/evidence.js";
import { evaluate } from "../../../src/index.js";
import type { TenantPolicy } from "../../../src/core/policy.js";
import { cryptoRandom } from "../../../src/main.js";
import { createAesGcmSealer } from "../../../src/secrets/aes-gcm-sealer.js";
import { keyFromFile } from "../../../src/secrets/sealing-keys.js";
import { verifyTotp } from "../../../src/verifiers/totp/index.js";
import { synchronousLoop, type LoopRound } from "../federation/closed-loop.js";
import { CONCURRENCY } from "../federation/compare.js";
import type { TotpBench } from "./application.js";
import { codeAt, TENANT } from "./application.js";
import { PERIOD_S, StepClock } from "./step-clock.js";

const PARAMETERS = { algorithm: "SHA1", digits: 6, period: PERIOD_S } as const;

/**
 * The floor under the full path: the least a durable TOTP sign-in costs on this machine. It reads
 * and writes what a full sign-in does, in the bench's own database (the real schema, indexes and
 * pragmas), with the same verifier, sealer, audit chain and engine, but with none of the layers
 * between: statements prepared by hand on a better-sqlite3 connection of its own, run
 * synchronously, {@link CONCURRENCY} sign-ins to a transaction. Per sign-in: the authenticator
 * read, its secret opened, the code checked over the window, the step's compare-and-set, the
 * principal's throttle row reset, an `authenticator.verified` event, that event read back as the
 * decision API checks the evidence against it, the principal and its exemptions read,
 * `evaluate`, the receipt and a `decision.recorded` event. The tenant's policy is
 * read once, as the rules cache would hold it.
 *
 * It is a measuring stick, not a second implementation: if even it stays below the issue's
 * ratio, the target is out of reach for any design that writes these rows before answering.
 */
export class TotpFloor {
  readonly #bench: TotpBench;
  readonly #db: Sqlite.Database;
  readonly #sealer: SecretSealer;
  readonly #policy: TenantPolicy;
  readonly #statements;
  /** The first floor sign-in's step, per principal: past every step the full path used. */
  readonly #firstStep: number;
  #index = 0;

  constructor(bench: TotpBench, firstFreeStep: number) {
    this.#bench = bench;
    this.#firstStep = firstFreeStep;
    this.#sealer = createAesGcmSealer([
      keyFromFile(join(dirname(bench.dbPath), "encryption-key.json")),
    ]);
    const db = new Sqlite(bench.dbPath);
    db.pragma("synchronous = NORMAL");
    db.pragma("temp_store = MEMORY");
    db.pragma("busy_timeout = 5000");
    this.#db = db;
    this.#statements = {
      begin: db.prepare("BEGIN IMMEDIATE"),
      commit: db.prepare("COMMIT"),
      authenticator: db.prepare(
        "SELECT * FROM authenticators WHERE tenant = ? AND principal = ? AND id = ?",
      ),
      acceptStep: db.prepare(
        "UPDATE authenticators SET last_step = ?, failed_attempts = 0, last_used_at = ? " +
          "WHERE tenant = ? AND principal = ? AND id = ? AND status = 'active' " +
          "AND locked_at IS NULL AND (last_step IS NULL OR last_step < ?) RETURNING last_step",
      ),
      throttleSuccess: db.prepare(
        "INSERT INTO verification_throttles (tenant, throttle_key, consecutive_failures, " +
          "last_success_at) VALUES (?, ?, 0, ?) ON CONFLICT (tenant, throttle_key) DO UPDATE " +
          "SET consecutive_failures = 0, next_attempt_at = NULL, last_success_at = excluded.last_success_at",
      ),
      principal: db.prepare("SELECT * FROM principals WHERE tenant = ? AND id = ?"),
      exemptions: db.prepare(
        "SELECT * FROM exemptions WHERE tenant = ? AND principal = ? AND status = 'active' " +
          "AND starts_at <= ? AND expires_at > ?",
      ),
      verification: db.prepare("SELECT * FROM audit_events WHERE id = ? AND chain = ?"),
      head: db.prepare("SELECT seq, hash FROM audit_heads WHERE chain = ?"),
      event: db.prepare(
        "INSERT INTO audit_events (chain, seq, id, tenant, type, actor, at, payload, " +
          "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      setHead: db.prepare(
        "INSERT INTO audit_heads (chain, seq, hash) VALUES (?, ?, ?) ON CONFLICT (chain) " +
          "DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
      ),
      receipt: db.prepare(
        "INSERT INTO receipts (id, tenant, principal, outcome, created_at, decision, " +
          "input_summary) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ),
    };
    const row = db
      .prepare("SELECT policy FROM policy_versions WHERE tenant = ? ORDER BY version DESC LIMIT 1")
      .get(TENANT) as { policy: string } | undefined;
    if (row === undefined) throw new Error("the bench's tenant has no policy");
    this.#policy = JSON.parse(row.policy) as TenantPolicy;
  }

  /** `count` sign-ins, timed as one round, {@link CONCURRENCY} to a transaction. */
  round(count: number): LoopRound {
    const principals = this.#bench.principals;
    // The codes of the round's steps, computed before timing as the full path's are.
    const plan = Array.from({ length: count }, (_, i) => {
      const index = this.#index + i;
      const enrolled = principals[index % principals.length];
      if (enrolled === undefined) throw new Error("no principals");
      // Two steps apart: the verifier takes the latest step of its window that a code matches,
      // so a code repeated one step later (one in 10⁶) accepts that step, and the principal's
      // next sign-in must not be at it.
      const step = this.#firstStep + 2 * Math.floor(index / principals.length);
      return { enrolled, step, code: codeAt(enrolled.secret, step) };
    });
    this.#index += count;
    const s = this.#statements;
    const batches = synchronousLoop(Math.ceil(count / CONCURRENCY), (batch) => {
      s.begin.run();
      const end = Math.min(count, (batch + 1) * CONCURRENCY);
      for (let i = batch * CONCURRENCY; i < end; i++) {
        const planned = plan[i];
        if (planned !== undefined) this.#signIn(planned.enrolled, planned.step, planned.code);
      }
      s.commit.run();
    });
    return { ...batches, operations: count, perSecond: count / batches.seconds };
  }

  #signIn(enrolled: TotpBench["principals"][number], step: number, code: string): void {
    const s = this.#statements;
    const { principal, authenticator } = enrolled;
    const now = new Date(StepClock.timeOf(step));
    const at = now.toISOString();
    const stored = s.authenticator.get(TENANT, principal, authenticator) as
      { sealed_secret: string } | undefined;
    if (stored === undefined) throw new Error(`no authenticator for ${principal}`);
    const secret = this.#sealer.open(
      stored.sealed_secret,
      totpSecretContext(TENANT, principal, authenticator),
    );
    const verified = verifyTotp(secret, code, now, PARAMETERS, { window: 1 });
    if (!verified.ok)
      throw new Error(`floor: ${principal} at step ${String(step)}: ${verified.code}`);
    if (
      s.acceptStep.get(verified.step, at, TENANT, principal, authenticator, verified.step) ===
      undefined
    ) {
      throw new Error(`floor: step ${String(verified.step)} of ${principal} was not accepted`);
    }
    s.throttleSuccess.run(TENANT, `principal:${principal}`, at);
    const verification = this.#append(
      "authenticator.verified",
      { principal, authenticator, method: "totp" },
      at,
    );

    // The decision API checks the event against the record of its verification.
    if (s.verification.get(verification, chainOf(TENANT)) === undefined) {
      throw new Error(`floor: verification ${verification} not found`);
    }

    const row = s.principal.get(TENANT, principal) as { id: string; population: "direct" };
    const exemptions = s.exemptions.all(TENANT, principal, at, at);
    const totpEvent: AuthenticationEvent = { method: "totp", source: "platform", at };
    const decision = evaluate(
      {
        tenant: TENANT,
        policy: this.#policy,
        mandates: [],
        principal: { id: row.id, population: row.population },
        evidence: { events: [{ method: "password", source: "platform", at }, totpEvent] },
        exemptions: exemptions as never[],
      },
      { now, id: cryptoRandom.id("dec") },
    );
    if (decision.outcome !== "allow")
      throw new Error(`floor: ${principal} was ${decision.outcome}`);
    s.receipt.run(
      decision.id,
      TENANT,
      principal,
      decision.outcome,
      at,
      JSON.stringify(decision),
      JSON.stringify({ principal, population: row.population, methods: ["password", "totp"] }),
    );
    this.#append(
      "decision.recorded",
      { decision: decision.id, principal, outcome: decision.outcome, mode: decision.mode },
      at,
    );
  }

  /** Appends an event to the tenant's chain; returns its id. */
  #append(type: string, payload: Record<string, unknown>, at: string): string {
    const s = this.#statements;
    const chain = chainOf(TENANT);
    const head = s.head.get(chain) as { seq: number; hash: string } | undefined;
    const event = linkEvent(
      { tenant: TENANT, type, actor: "floor", payload },
      head,
      cryptoRandom.id("evt"),
      at,
    );
    s.event.run(
      event.chain,
      event.seq,
      event.id,
      event.tenant,
      event.type,
      event.actor,
      event.at,
      JSON.stringify(event.payload),
      event.prevHash,
      event.hash,
    );
    s.setHead.run(event.chain, event.seq, event.hash);
    return event.id;
  }

  close(): void {
    this.#db.close();
  }
}
