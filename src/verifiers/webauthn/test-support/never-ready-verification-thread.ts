// A stand-in for `verification-thread.ts` that never finishes loading: it takes the checks it is
// sent and never says it is ready, nor answers any (as a thread whose start hangs: a dependency's
// import that never settles, a loop at load). For the threads' watchdog, which must not wait for
// it for ever.
import { parentPort } from "node:worker_threads";

const port = parentPort;
if (port === null) throw new Error("runs only as a worker thread");

port.on("message", () => undefined);
