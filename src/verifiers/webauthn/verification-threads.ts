import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { VerifierUnavailable } from "../../app/authenticators/webauthn-protocol.js";
import type { Answer, Check, CheckKind, Checks } from "./verification-thread.js";
import type { verifyAuthentication } from "./verify-authentication.js";
import type { verifyRegistration } from "./verify-registration.js";

/**
 * WebAuthn checks running on worker threads, and how to stop them: the same two verifiers as on
 * the event loop, taking the same input and giving the same answers. A check that gets no answer
 * (its thread failed, stopped, left it unanswered too long, or the threads were closed) rejects
 * with {@link VerificationThreadFailed}, which the use cases answer as `webauthn.unavailable`; one
 * whose verifier threw rejects with {@link VerifierThrew}, as the event loop would throw.
 */
export interface VerificationThreads {
  /** `verifyRegistration` (attestation and its certificate chain), run on one of the threads. */
  readonly verifyRegistration: typeof verifyRegistration;
  /** `verifyAuthentication` (an assertion's signature), run on one of the threads. */
  readonly verifyAuthentication: typeof verifyAuthentication;
  /** Stops the threads; a check still under way, or sent later, rejects. */
  close(): Promise<void>;
}

/**
 * One thread per core but the event loop's, at most 4; none on a single core, where a thread
 * would only add the cost of handing each check over.
 */
export function defaultVerificationThreads(cores = availableParallelism()): number {
  return Math.min(4, Math.max(0, cores - 1));
}

/** Why a check that was sent to a thread has no answer: the verifier was unavailable. */
export class VerificationThreadFailed extends VerifierUnavailable {
  constructor(reason: string) {
    super(`A WebAuthn verification thread failed: ${reason}`);
    this.name = "VerificationThreadFailed";
  }
}

/**
 * A verifier that threw on its thread (a bug, as it would be on the event loop): not a thread
 * that failed, so not something a retry would mend. Only the error's name crosses, never its
 * message, which may quote the input.
 */
export class VerifierThrew extends Error {
  constructor(errorName: string) {
    super(`A WebAuthn verifier threw ${errorName} on its thread`);
    this.name = "VerifierThrew";
  }
}

// This module runs from its compiled JavaScript in production and from its TypeScript source
// under the tests and `tsx`. A worker thread does not inherit the parent's module hooks (nor, on
// Node 20, take tsx's through `--import`): from the source, the thread's entry is a line of
// script that registers tsx (a development dependency, present wherever the source runs) and
// then imports the thread's module.
const fromSource = import.meta.url.endsWith(".ts");
const THREAD_MODULE = new URL(`./verification-thread.${fromSource ? "ts" : "js"}`, import.meta.url);

function startThread(threadModule: URL): Worker {
  if (!fromSource) return new Worker(threadModule);
  // The ESM build of tsx's API, beside the CommonJS one that `require.resolve` finds.
  const tsx = pathToFileURL(
    createRequire(import.meta.url)
      .resolve("tsx/esm/api")
      .replace(/\.cjs$/, ".mjs"),
  ).href;
  const entry = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(threadModule.href)}); })`;
  return new Worker(entry, { eval: true });
}

type Pending = {
  readonly resolve: (answer: Checks[CheckKind]["answer"]) => void;
  readonly reject: (error: Error) => void;
};

/** One worker thread and the checks it owes answers to. */
class Thread {
  /** The checks owed, in the order they were sent (a Map keeps it), with when they were sent. */
  readonly #pending = new Map<number, Pending & { readonly sentAt: number }>();
  readonly #worker: Worker;
  #failed: Error | undefined;

  readonly #timeoutMs: number;
  #deadline: NodeJS.Timeout | undefined;
  /** When the thread said it was ready (its first message): its start is not a check's wait. */
  #readyAt: number | undefined;
  /** When the thread was started: its start, too, must end within the timeout. */
  readonly #startedAt = performance.now();

  constructor(threadModule: URL, timeoutMs: number, onExit: (thread: Thread) => void) {
    this.#timeoutMs = timeoutMs;
    this.#worker = startThread(threadModule);
    this.#worker.unref();
    this.#worker.on("message", (answers: readonly Answer[]) => {
      this.#readyAt ??= performance.now();
      for (const answer of answers) {
        const pending = this.#pending.get(answer[0]);
        if (pending === undefined) continue;
        this.#pending.delete(answer[0]);
        if (answer[1] === undefined) {
          pending.reject(new VerifierThrew(answer[2].failed));
        } else {
          pending.resolve(answer[1]);
        }
      }
      // An idle thread never keeps the process alive; one owing answers does.
      if (this.#pending.size === 0) this.#worker.unref();
      this.#watch();
    });
    this.#worker.on("error", (error) => {
      this.#failed = new VerificationThreadFailed(error.name);
    });
    // Answers that cannot be read back would leave their checks waiting for ever: the thread is
    // stopped instead, which rejects every check it owes.
    this.#worker.on("messageerror", () => {
      this.#failed = new VerificationThreadFailed("its answers could not be read");
      void this.#worker.terminate();
    });
    this.#worker.on("exit", (code) => {
      this.#fail(this.#failed ?? new VerificationThreadFailed(`it stopped (exit code ${code})`));
      onExit(this);
    });
  }

  /** Checks owed. */
  get load(): number {
    return this.#pending.size;
  }

  /** Sends `checks` in one message; each settles through `pending` when its answer comes. */
  send(checks: readonly (readonly [Check, Pending])[]): void {
    try {
      this.#worker.postMessage(checks.map(([check]) => check));
    } catch (error) {
      // A value that cannot be cloned: sent one by one, only that check fails.
      if (checks.length > 1) {
        for (const one of checks) this.send([one]);
        return;
      }
      checks[0]?.[1].reject(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    const sentAt = performance.now();
    for (const [[id], pending] of checks) this.#pending.set(id, { ...pending, sentAt });
    this.#worker.ref();
    this.#watch();
  }

  // A check is answered in well under a second. One that a ready thread has not answered within
  // `timeoutMs`, or a thread not ready within `timeoutMs` of its start, means a stuck thread (a
  // check that never settles would also hold one of its places for ever): the thread is stopped,
  // which rejects every check it owes, and the next check gets a new one. One timer per thread,
  // set for the oldest check owed, rather than one per check.
  #watch(): void {
    clearTimeout(this.#deadline);
    this.#deadline = undefined;
    const oldest = this.#pending.values().next();
    if (oldest.done === true) return;
    // A thread that never says it is ready (its start hangs) would leave the checks it owes, and
    // every later one sent to it, waiting for ever: its start gets the timeout of its own, and
    // the first answer sets the watch again, from then.
    const ready = this.#readyAt;
    const since = ready === undefined ? this.#startedAt : Math.max(oldest.value.sentAt, ready);
    const wait = Math.max(0, since + this.#timeoutMs - performance.now());
    this.#deadline = setTimeout(() => {
      this.#failed = new VerificationThreadFailed(
        ready === undefined
          ? `it did not start within ${String(this.#timeoutMs)} ms`
          : `a check went unanswered for ${String(this.#timeoutMs)} ms`,
      );
      void this.#worker.terminate();
    }, wait);
    this.#deadline.unref();
  }

  #fail(error: Error): void {
    clearTimeout(this.#deadline);
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }

  async stop(): Promise<void> {
    this.#failed = new VerificationThreadFailed("the threads were closed");
    await this.#worker.terminate();
  }
}

/**
 * Verifies WebAuthn registrations and assertions on up to `threads` worker threads, off the
 * event loop.
 *
 * Both checks are CPU-bound. An assertion's: the library imports the credential's public key and
 * checks its signature mostly on the calling thread (Node's WebCrypto resolves its promise after
 * doing the work), about 300–400 µs on these machines, as long as the rest of a sign-in's work
 * together. A registration's costs as much without attestation (about 0.4 ms) and far more with
 * one: its statement's signature and, for `packed`, `tpm` and `fido-u2f`, its certificate chain
 * up to the operator's roots, about 3.5 ms for a packed attestation through an intermediate CA.
 * On the event loop each holds back every other request for that long; on a thread it
 * runs beside them, on another core. The threads run the same `verifyRegistration` and
 * `verifyAuthentication` on the same input, so every check and every refusal is the same; only
 * the input and the answer cross between threads, as a structured clone (the attestation roots,
 * `X509Certificate`s, are among the native objects Node's `postMessage` clones).
 *
 * Handing checks over costs the event loop little because the checks of one turn go to a thread
 * in one message, and its answers of one turn come back in one: about 1.5 µs a check here,
 * against 11 µs for a message each and 20 µs through Piscina, which sends one per task (measured
 * with an echo at 64 in flight). Each check goes to the thread that owes the fewest answers.
 *
 * A thread that fails, stops, or leaves a check unanswered for `timeoutMs` rejects the checks
 * it owes (the use case answers that as any failure of its verifier: no sign-in; the
 * request never hangs) and is replaced at the next check. A thread starts at the
 * first check that needs it (about 0.1 s) and then stays; a command that never verifies starts
 * none. Threads owing nothing never keep the process alive.
 */
export function startVerificationThreads(options: {
  readonly threads: number;
  /** How long a check may go unanswered before its thread is taken as stuck and stopped; 10 s. */
  readonly timeoutMs?: number;
  /** The threads' module: `verification-thread` unless a test gives a stand-in. */
  readonly threadModule?: URL;
}): VerificationThreads {
  const { threads: size, timeoutMs = 10_000, threadModule = THREAD_MODULE } = options;
  if (!Number.isSafeInteger(size) || size < 1) {
    throw new RangeError(`threads must be a positive integer, not ${String(size)}`);
  }
  const threads = new Set<Thread>();
  let queued: [Check, Pending][] = [];
  let next = 0;
  let closed = false;

  // The thread owing the fewest answers, counting those about to be sent; a new one while
  // there is room and every thread owes some.
  const leastLoaded = (load: (thread: Thread) => number): Thread => {
    let chosen: Thread | undefined;
    for (const thread of threads) {
      if (chosen === undefined || load(thread) < load(chosen)) chosen = thread;
    }
    if (chosen !== undefined && (load(chosen) === 0 || threads.size >= size)) return chosen;
    const started = new Thread(threadModule, timeoutMs, (gone) => threads.delete(gone));
    threads.add(started);
    return started;
  };

  const flush = () => {
    const checks = queued;
    queued = [];
    const batches = new Map<Thread, [Check, Pending][]>();
    const load = (thread: Thread) => thread.load + (batches.get(thread)?.length ?? 0);
    for (const check of checks) {
      const thread = leastLoaded(load);
      const batch = batches.get(thread);
      if (batch === undefined) batches.set(thread, [check]);
      else batch.push(check);
    }
    for (const [thread, batch] of batches) thread.send(batch);
  };

  /** Queues a check for this turn's batch; it settles with its thread's answer. */
  const submit = <K extends CheckKind>(
    kind: K,
    input: Checks[K]["input"],
  ): Promise<Checks[K]["answer"]> => {
    if (closed) return Promise.reject(new VerificationThreadFailed("the threads were closed"));
    return new Promise((resolve, reject) => {
      if (queued.length === 0) setImmediate(flush);
      // The thread answers each check with the verifier its kind names, so the answer is that
      // verifier's; the types cannot follow a kind through the message.
      const check = [next++, kind, input] as Check;
      queued.push([check, { resolve, reject }]);
    });
  };

  // Each sends what its check reads, and nothing else of the caller's records.
  return {
    verifyRegistration: (input) => {
      const { response, challenge, rp, userVerification, aaguids, at, attestationRoots } = input;
      return submit("registration", {
        response,
        challenge,
        rp,
        userVerification,
        aaguids,
        at,
        ...(attestationRoots === undefined ? {} : { attestationRoots }),
      });
    },
    verifyAuthentication: ({ response, challenge, rp, userVerification, credential }) => {
      const { credentialId, publicKey, signCount, backupEligible, transports } = credential;
      return submit("authentication", {
        response,
        challenge,
        rp,
        userVerification,
        credential: { credentialId, publicKey, signCount, backupEligible, transports },
      });
    },
    close: async () => {
      closed = true;
      for (const [, pending] of queued) {
        pending.reject(new VerificationThreadFailed("the threads were closed"));
      }
      queued = [];
      await Promise.all([...threads].map((thread) => thread.stop()));
    },
  };
}
