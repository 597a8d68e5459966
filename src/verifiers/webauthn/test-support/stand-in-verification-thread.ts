// A stand-in for `verification-thread.ts`, speaking its protocol, for tests of the threads'
// plumbing: a check's challenge says what to do, whatever its kind (registration or assertion).
// `exit` ends the thread (as a crash would), `throw` answers as a verifier that threw, `wait:N`
// answers after N ms, `hang` never answers (as a check that never settles); anything else is
// refused at once with a detail naming the thread and the kind, so that a test sees which thread
// answered, and that the kind crossed.
import { parentPort, threadId } from "node:worker_threads";
import type { Answer, Check } from "../verification-thread.js";

const port = parentPort;
if (port === null) throw new Error("runs only as a worker thread");

port.on("message", (checks: readonly Check[]) => {
  const answers: Answer[] = [];
  for (const [id, kind, { challenge }] of checks) {
    if (challenge === "exit") process.exit(3);
    if (challenge === "hang") continue;
    const answer: Answer =
      challenge === "throw"
        ? [id, undefined, { failed: "TypeError" }]
        : [
            id,
            {
              ok: false,
              code: "webauthn.malformed_response",
              detail: `thread ${String(threadId)} ${kind}`,
            },
          ];
    const wait = /^wait:(\d+)$/.exec(challenge)?.[1];
    if (wait === undefined) answers.push(answer);
    else
      setTimeout(() => {
        port.postMessage([answer]);
      }, Number(wait));
  }
  if (answers.length > 0) port.postMessage(answers);
});

// Loaded, as the real thread says it.
port.postMessage([]);
