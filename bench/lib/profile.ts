import { writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { join } from "node:path";

/**
 * Where `BENCH_PROFILE_DIR` asks for CPU profiles of timed rounds, or undefined (the default:
 * nothing is profiled, and nothing of the profiler runs).
 */
const folder = process.env.BENCH_PROFILE_DIR;

let session: Session | undefined;
let counter = 0;
let segment: string | undefined;

async function startProfiler(): Promise<Session> {
  if (session === undefined) {
    session = new Session();
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 200 });
  }
  await session.post("Profiler.start");
  return session;
}

async function stopProfiler(active: Session, name: string): Promise<void> {
  const { profile } = await active.post("Profiler.stop");
  counter += 1;
  await writeFile(
    join(folder ?? ".", `${name}-${String(counter)}.cpuprofile`),
    JSON.stringify(profile),
  );
}

/**
 * For a process whose rounds are marked from outside (the HTTP sections' servers, told by the
 * parent before and after each round): when `BENCH_PROFILE_DIR` is set, ends the profile of the
 * segment under way, if any, and starts the next, named `name`. Nothing otherwise.
 */
export async function nextProfileSegment(name: string): Promise<void> {
  if (folder === undefined || folder === "") return;
  if (session !== undefined && segment !== undefined) await stopProfiler(session, segment);
  segment = name;
  await startProfiler();
}

/**
 * Runs `round`, and when `BENCH_PROFILE_DIR` is set, records V8's CPU profile of the main thread
 * over it alone (200 µs sampling) to `DIR/NAME-N.cpuprofile`, for Chromium's DevTools or any
 * `.cpuprofile` reader. Setup and untimed preparation stay out of the profile, which a
 * process-wide `--cpu-prof` cannot do. The profiler costs a few percent of the round's rate.
 */
export async function profiled<T>(name: string, round: () => Promise<T>): Promise<T> {
  if (folder === undefined || folder === "") return round();
  const active = await startProfiler();
  try {
    return await round();
  } finally {
    await stopProfiler(active, name);
  }
}
