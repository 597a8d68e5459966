// The worker thread's side of `verification-threads.ts`: checks the registrations and assertions
// it is sent with `verifyRegistration` and `verifyAuthentication`, a few at a time, and sends the
// answers back.
import { parentPort } from "node:worker_threads";
import type {
  AuthenticationVerification,
  RegistrationVerification,
} from "../../app/authenticators/webauthn-protocol.js";
import { verifyAuthentication } from "./verify-authentication.js";
import { verifyRegistration } from "./verify-registration.js";

/** The kinds of check a thread runs: each the verifier's input, and its answer. */
export interface Checks {
  readonly registration: {
    readonly input: Parameters<typeof verifyRegistration>[0];
    readonly answer: RegistrationVerification;
  };
  readonly authentication: {
    readonly input: Parameters<typeof verifyAuthentication>[0];
    readonly answer: AuthenticationVerification;
  };
}

/** Which verifier a check is for. */
export type CheckKind = keyof Checks;

/** A check sent to the thread: its number, its kind, and that verifier's input. */
export type Check = {
  readonly [K in CheckKind]: readonly [id: number, kind: K, input: Checks[K]["input"]];
}[CheckKind];

/** A check's answer: its number and the verifier's answer, or `failed` when the verifier threw. */
export type Answer =
  | readonly [id: number, verification: Checks[CheckKind]["answer"]]
  | readonly [id: number, verification: undefined, fault: { readonly failed: string }];

/** Runs `check` with the verifier its kind names. */
function verify(check: Check): Promise<Checks[CheckKind]["answer"]> {
  switch (check[1]) {
    case "registration":
      return verifyRegistration(check[2]);
    case "authentication":
      return verifyAuthentication(check[2]);
  }
}

// Checks under way at once. A check awaits WebCrypto (an assertion: the key's import, the
// signature; a registration: the attestation's signature), part of which runs on libuv's pool, so
// one at a time would leave the thread idle meanwhile. All at once would answer a burst only when
// the whole burst is done: the event loop that sent it waits idle, then has every answer to
// handle while this thread waits; a few at a time keep answers flowing back while the rest are
// checked, and both threads busy (at 64 sign-ins in flight: about 1,300 a second with all at
// once, 2,000 with 8 at a time).
const AT_ONCE = 8;

const port = parentPort;
if (port === null) throw new Error("verification-thread.ts runs only as a worker thread");

// Answers found in one turn of this thread's event loop go back together, at its end.
let answers: Answer[] = [];
const send = () => {
  const batch = answers;
  answers = [];
  port.postMessage(batch);
};
const answer = (one: Answer) => {
  if (answers.length === 0) setImmediate(send);
  answers.push(one);
};

const waiting: Check[] = [];
let running = 0;
const checkNext = (): void => {
  const next = running < AT_ONCE ? waiting.shift() : undefined;
  if (next === undefined) return;
  const id = next[0];
  running += 1;
  verify(next)
    .then(
      (verification) => {
        answer([id, verification]);
      },
      // The verifier returns every refusal as a value; a throw is a fault in it. Only its kind
      // crosses back: a message could quote what it was checking.
      (error: unknown) => {
        answer([id, undefined, { failed: error instanceof Error ? error.name : "throw" }]);
      },
    )
    .finally(() => {
      running -= 1;
      checkNext();
    });
  checkNext();
};

port.on("message", (checks: readonly Check[]) => {
  waiting.push(...checks);
  checkNext();
});

// Loaded: an empty batch of answers tells the other side so.
port.postMessage([]);
