// Threat (to the tests themselves): a racer of a ForcedRace failing before it reaches the barrier
// (a typo, a refused request) left the other racer waiting at the barrier and `run` waiting for
// the leader's write, so the test hung until its timeout and reported a timeout, not the error.
// `run` now rejects at once with the racer's error and releases the racer still waiting. Short
// test timeouts: a hang fails these tests rather than stalling them. No database is reached.
import { describe, expect, it } from "vitest";
import { ForcedRace, type Racer } from "./forced-race.js";

/** Well under any test timeout of the multi-instance suites (several seconds each). */
const FAIL_FAST_MS = 1_000;

describe("a forced race whose racers fail", () => {
  it(
    "rejects at once with the error of a racer that failed before the barrier, releasing the other",
    async () => {
      const race = new ForcedRace("A");
      const broken = new Error("racer A was refused before its verification");
      let released: unknown;
      const racer = async (name: Racer) => {
        if (name === "A") throw broken;
        try {
          await race.verified(name);
        } catch (error) {
          released = error;
          throw error;
        }
      };
      await expect(
        race.run("never_reached", () => Promise.all([racer("A"), racer("B")])),
      ).rejects.toBe(broken);
      // The racer left at the barrier is not left pending forever.
      await new Promise((resolve) => setImmediate(resolve));
      expect(released).toBe(broken);
    },
    FAIL_FAST_MS,
  );

  it(
    "rejects at once when the racers' work ends before the leader held its write",
    async () => {
      const race = new ForcedRace("B");
      await expect(race.run("never_reached", () => Promise.resolve(["A", "B"]))).rejects.toThrow(
        "The racers' work ended before the leader held its write and committed.",
      );
    },
    FAIL_FAST_MS,
  );
});
