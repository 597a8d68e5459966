// Threat (to the tests themselves): a racer of a ForcedRace failing before it reaches the barrier
// (a typo, a refused request) left the other racer waiting at the barrier and `run` waiting for
// the leader's write, so the test hung until its timeout and reported a timeout, not the error.
// `run` now rejects at once with the racer's error (or, when the racer's call turned its error
// into an answer, with one quoting that answer) and releases the racer still waiting. Short
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
        race.run("never_reached", { A: () => racer("A"), B: () => racer("B") }),
      ).rejects.toBe(broken);
      // The racer left at the barrier is not left pending forever.
      await new Promise((resolve) => setImmediate(resolve));
      expect(released).toBe(broken);
    },
    FAIL_FAST_MS,
  );

  it(
    "rejects at once when a racer's call turns its failure into an answer, releasing the other",
    async () => {
      const race = new ForcedRace("B");
      let released: unknown;
      // As a test's racer does that reports a refusal as a value: the barrier is never reached.
      const refusedEarly = () => Promise.resolve({ refused: "webauthn.challenge_unknown" });
      const waiting = async () => {
        try {
          await race.verified("B");
        } catch (error) {
          released = error;
        }
        return { refused: "released" };
      };
      await expect(race.run("never_reached", { A: refusedEarly, B: waiting })).rejects.toThrow(
        'Racer A ended before the race was over: {"refused":"webauthn.challenge_unknown"}',
      );
      await new Promise((resolve) => setImmediate(resolve));
      expect(released).toBeInstanceOf(Error);
    },
    FAIL_FAST_MS,
  );
});
