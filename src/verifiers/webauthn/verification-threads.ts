import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Piscina } from "piscina";
import type {
  AuthenticationVerification,
  WebAuthnProtocol,
} from "../../app/authenticators/webauthn-protocol.js";
import type { verifyAuthentication } from "./verify-authentication.js";

type CheckInput = Parameters<typeof verifyAuthentication>[0];

/** Assertion checks running on worker threads, and how to stop them. */
export interface VerificationThreads {
  /** `verifyAuthentication`, run on one of the threads. */
  readonly verifyAuthentication: WebAuthnProtocol["verifyAuthentication"];
  /** Stops the threads; a check still queued or under way rejects. */
  close(): Promise<void>;
}

// This module runs from its compiled JavaScript in production and from its TypeScript source
// under the tests and `tsx`. A worker thread does not inherit the parent's module hooks, so a
// thread started from the source loads tsx (a development dependency, present wherever the
// source runs) before it imports the verifier.
const fromSource = import.meta.url.endsWith(".ts");
const verifierFile = fileURLToPath(
  new URL(`./verify-authentication.${fromSource ? "ts" : "js"}`, import.meta.url),
);

// Checks one thread runs at once. A check awaits WebCrypto twice (the key's import, the
// signature), part of which runs on libuv's pool: with one at a time the thread would wait idle
// meanwhile.
const CHECKS_PER_THREAD = 4;

/**
 * One thread per core but the event loop's, at most 4; none on a single core, where a thread
 * would only add the cost of handing each check over.
 */
export function defaultVerificationThreads(cores = availableParallelism()): number {
  return Math.min(4, Math.max(0, cores - 1));
}

/**
 * Verifies WebAuthn assertions on up to `threads` worker threads, off the event loop.
 *
 * An assertion's check is CPU-bound: the library imports the credential's public key and checks
 * its signature mostly on the calling thread (Node's WebCrypto resolves its promise after doing
 * the work), about 300–400 µs on these machines, as long as the rest of a sign-in's work
 * together. On the event loop it holds back every other request for that long; on a thread it
 * runs beside them, on another core. The threads run the same `verifyAuthentication` on the same
 * input, so every check and every refusal is the same; only the input and the result cross
 * between threads, as plain data (a structured clone, cheaper than the check: about 50 µs of the
 * event loop's time per check against 400). A thread that fails (it should not: the verifier
 * returns every refusal as a value) rejects its check, which the use case answers as any
 * failure of its verifier: no sign-in.
 *
 * A thread starts at the first check that needs it (about 0.1 s) and then stays; a command that
 * never verifies starts none. Idle threads never keep the process alive.
 */
export function startVerificationThreads(options: {
  readonly threads: number;
}): VerificationThreads {
  const { threads } = options;
  if (!Number.isSafeInteger(threads) || threads < 1) {
    throw new RangeError(`threads must be a positive integer, not ${String(threads)}`);
  }
  const pool = new Piscina<CheckInput, AuthenticationVerification>({
    filename: verifierFile,
    name: "verifyAuthentication",
    minThreads: 0,
    maxThreads: threads,
    concurrentTasksPerWorker: CHECKS_PER_THREAD,
    idleTimeout: Infinity,
    ...(fromSource ? { execArgv: ["--import", "tsx"] } : {}),
  });
  let closed = false;
  return {
    verifyAuthentication: async ({ response, challenge, rp, userVerification, credential }) => {
      // Piscina would start a thread again for a check sent after its close.
      if (closed) throw new Error("The WebAuthn verification threads are closed.");
      // What the check reads, and nothing else of the caller's records.
      const { credentialId, publicKey, signCount, backupEligible, transports } = credential;
      return pool.run({
        response,
        challenge,
        rp,
        userVerification,
        credential: { credentialId, publicKey, signCount, backupEligible, transports },
      });
    },
    close: async () => {
      closed = true;
      await pool.close({ force: true });
    },
  };
}
