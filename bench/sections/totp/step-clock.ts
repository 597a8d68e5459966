import type { Clock } from "../../../src/app/ports.js";

/** Seconds per TOTP time step: the default every authenticator app uses (RFC 6238 X). */
export const PERIOD_S = 30;

/**
 * The application's clock in the TOTP bench: it stands still within a time step and only the
 * bench moves it, forward, one step at a time. Each time step is accepted once per principal,
 * so a principal's next sign-in needs the next step; the bench moves the clock to a sign-in's
 * step as it starts it, and never back.
 */
export class StepClock implements Clock {
  #ms: number;

  /** Starts at the middle of `step`. */
  constructor(step: number) {
    this.#ms = StepClock.timeOf(step);
  }

  /** The clock's reading while it stands at `step`: the middle of the step, in epoch ms. */
  static timeOf(step: number): number {
    return (step * PERIOD_S + PERIOD_S / 2) * 1000;
  }

  now(): Date {
    return new Date(this.#ms);
  }

  /** The time step the clock stands at. */
  step(): number {
    return Math.floor(this.#ms / 1000 / PERIOD_S);
  }

  /** Moves the clock to `step` if that is later than where it stands; never moves it back. */
  advanceTo(step: number): void {
    const ms = StepClock.timeOf(step);
    if (ms > this.#ms) this.#ms = ms;
  }
}
