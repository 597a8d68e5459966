import type { Clock } from "../ports.js";

/** Refusals recorded one by one per tenant and IdP per minute, on each instance. */
export const REFUSALS_RECORDED_PER_MINUTE = 100;

const WINDOW_MS = 60_000;

/** At most this many tenant-and-IdP windows are kept; should there be more, it starts again. */
const MAX_WINDOWS = 10_000;

/** Refusals that were counted but not recorded one by one. */
export interface SuppressedRefusals {
  readonly count: number;
  /** How many of them had each reason code. */
  readonly reasons: Readonly<Record<string, number>>;
  /** The minute they fell in. */
  readonly from: string;
  readonly to: string;
}

/** Whether a refusal is recorded, and what its event says of the others. */
export type RefusalAdmission =
  | { readonly record: false }
  | {
      readonly record: true;
      /** Refusals counted unrecorded in the minute before this one's. */
      readonly suppressed?: SuppressedRefusals;
      /** The last one recorded one by one in its minute: later ones are counted until then. */
      readonly countedUntil?: string;
    };

interface Window {
  readonly start: number;
  recorded: number;
  suppressed: number;
  readonly reasons: Record<string, number>;
}

/**
 * How many refused answers (and refused starts) at one IdP are audited one by one. Anyone can
 * make a refusal (a forged response, an error callback, a start at an IdP that cannot be used
 * now), and the per-address limit on unauthenticated routes does not bound what many addresses
 * send together: every refusal would append to the tenant's chain. Past
 * {@link REFUSALS_RECORDED_PER_MINUTE} in a minute (the last of which says so), refusals are only
 * counted, and the count (with its reasons) goes into the next refusal that is recorded. Per instance, in memory: the
 * bound is that many per instance, which is what keeps a chain from growing without one.
 */
export class RefusalBudget {
  readonly #clock: Clock;
  readonly #perMinute: number;
  readonly #windows = new Map<string, Window>();

  constructor(clock: Clock, perMinute = REFUSALS_RECORDED_PER_MINUTE) {
    this.#clock = clock;
    this.#perMinute = perMinute;
  }

  /**
   * Whether the refusal is recorded one by one; when it is and refusals were counted unrecorded
   * in the tenant's and IdP's minute before, what they were (to be recorded with it); and whether
   * it is the minute's last recorded one.
   */
  admit(tenant: string, idp: string, reason: string): RefusalAdmission {
    const now = this.#clock.now().getTime();
    const key = JSON.stringify([tenant, idp]);
    const window = this.#windows.get(key);
    if (window === undefined || now - window.start >= WINDOW_MS || now < window.start) {
      if (window === undefined && this.#windows.size >= MAX_WINDOWS) this.#windows.clear();
      this.#windows.set(key, { start: now, recorded: 1, suppressed: 0, reasons: {} });
      return window === undefined || window.suppressed === 0
        ? { record: true }
        : { record: true, suppressed: summary(window) };
    }
    if (window.recorded < this.#perMinute) {
      window.recorded += 1;
      // The last one recorded says so, so that a flood is seen as it starts.
      return window.recorded < this.#perMinute
        ? { record: true }
        : { record: true, countedUntil: new Date(window.start + WINDOW_MS).toISOString() };
    }
    window.suppressed += 1;
    window.reasons[reason] = (window.reasons[reason] ?? 0) + 1;
    return { record: false };
  }
}

function summary(window: Window): SuppressedRefusals {
  return {
    count: window.suppressed,
    reasons: { ...window.reasons },
    from: new Date(window.start).toISOString(),
    to: new Date(window.start + WINDOW_MS).toISOString(),
  };
}
