import type { Clock, Timers } from "../ports.js";

/** Refusals recorded one by one per tenant and IdP per minute, on each instance. */
export const REFUSALS_RECORDED_PER_MINUTE = 100;

/** Of those, how many one client address may have recorded (an IPv6 address by its /64). */
export const REFUSALS_RECORDED_PER_ADDRESS = 10;

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

/** A minute of one tenant's IdP that ended with refusals counted unrecorded. */
export interface ClosedWindow {
  readonly tenant: string;
  readonly idp: string;
  readonly suppressed: SuppressedRefusals;
}

/** Whether a refusal is recorded, and what its event says of the others. */
export interface RefusalAdmission {
  readonly record: boolean;
  /**
   * The last one recorded one by one in its minute: later ones are counted until then (only
   * when recorded).
   */
  readonly countedUntil?: string;
  /**
   * The tenant's and IdP's minute before, which this refusal found over (its timer not yet run)
   * with refusals counted unrecorded: the caller records its count now.
   */
  readonly closed?: ClosedWindow;
}

/** What the budget allows; the defaults are {@link REFUSALS_RECORDED_PER_MINUTE} and co. */
export interface RefusalLimits {
  readonly perMinute: number;
  readonly perAddress: number;
}

interface Window {
  readonly tenant: string;
  readonly idp: string;
  readonly start: number;
  recorded: number;
  /** How many each client address had recorded. */
  readonly byAddress: Map<string, number>;
  suppressed: number;
  readonly reasons: Record<string, number>;
  /** Cancels the timer that records the count at the minute's end, once one is counted. */
  cancel?: () => void;
}

/**
 * How many refused answers (and refused starts) at one IdP are audited one by one. Anyone can
 * make a refusal (a forged response, an error callback, a start at an IdP that cannot be used
 * now), and the per-address limit on unauthenticated routes does not bound what many addresses
 * send together: every refusal would append to the tenant's chain. Past
 * {@link REFUSALS_RECORDED_PER_MINUTE} in a minute (the last of which says so), refusals are only
 * counted; so are those of a client address past its {@link REFUSALS_RECORDED_PER_ADDRESS}, so
 * that one address (which may send 300 a minute) cannot use the minute up and hide the real
 * refusals after it (a replayed answer, say). When the minute ends its count (with its reasons)
 * is handed to `record`, by a timer, or by the next refusal should it come first. Per instance,
 * in memory: the bound is that many per instance, which is what keeps a chain from growing
 * without one; the count of a minute not over when the instance stops is lost.
 */
export class RefusalBudget {
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #record: (closed: ClosedWindow) => Promise<void>;
  readonly #limits: RefusalLimits;
  readonly #windows = new Map<string, Window>();

  constructor(
    clock: Clock,
    timers: Timers,
    /** Records a minute's count; called once per minute that counted any, never rejects. */
    record: (closed: ClosedWindow) => Promise<void>,
    limits: RefusalLimits = {
      perMinute: REFUSALS_RECORDED_PER_MINUTE,
      perAddress: REFUSALS_RECORDED_PER_ADDRESS,
    },
  ) {
    this.#clock = clock;
    this.#timers = timers;
    this.#record = record;
    this.#limits = limits;
  }

  /**
   * Whether the refusal is recorded one by one (within the minute's budget and its client
   * address's share of it, when the address is known: `address` is its key); when it is the
   * minute's last recorded one, until when the rest are counted; and the minute before, if this
   * refusal closed it.
   */
  admit(tenant: string, idp: string, reason: string, address?: string): RefusalAdmission {
    const now = this.#clock.now().getTime();
    const key = JSON.stringify([tenant, idp]);
    let window = this.#windows.get(key);
    let closed: ClosedWindow | undefined;
    if (window !== undefined && (now - window.start >= WINDOW_MS || now < window.start)) {
      closed = this.#close(key, window);
      window = undefined;
    }
    if (window === undefined) {
      if (this.#windows.size >= MAX_WINDOWS) this.#closeAll();
      window = {
        tenant,
        idp,
        start: now,
        recorded: 0,
        byAddress: new Map(),
        suppressed: 0,
        reasons: {},
      };
      this.#windows.set(key, window);
    }
    const fromAddress = address === undefined ? 0 : (window.byAddress.get(address) ?? 0);
    if (window.recorded < this.#limits.perMinute && fromAddress < this.#limits.perAddress) {
      window.recorded += 1;
      if (address !== undefined) window.byAddress.set(address, fromAddress + 1);
      return {
        record: true,
        // The last one recorded says so, so that a flood is seen as it starts.
        ...(window.recorded < this.#limits.perMinute
          ? {}
          : { countedUntil: new Date(window.start + WINDOW_MS).toISOString() }),
        ...(closed === undefined ? {} : { closed }),
      };
    }
    window.suppressed += 1;
    window.reasons[reason] = (window.reasons[reason] ?? 0) + 1;
    if (window.cancel === undefined) {
      const counted = window;
      counted.cancel = this.#timers.after(counted.start + WINDOW_MS - now, () =>
        this.#expire(key, counted),
      );
    }
    return { record: false, ...(closed === undefined ? {} : { closed }) };
  }

  /** Stops every timer; what the minutes under way counted is not recorded. */
  close(): void {
    for (const window of this.#windows.values()) window.cancel?.();
    this.#windows.clear();
  }

  /** Forgets `window`, stopping its timer; its count, if it counted any. */
  #close(key: string, window: Window): ClosedWindow | undefined {
    window.cancel?.();
    this.#windows.delete(key);
    return window.suppressed === 0
      ? undefined
      : { tenant: window.tenant, idp: window.idp, suppressed: summary(window) };
  }

  /** The minute of `window` is over: its count is recorded, unless a refusal closed it first. */
  async #expire(key: string, window: Window): Promise<void> {
    if (this.#windows.get(key) !== window) return;
    const closed = this.#close(key, window);
    if (closed !== undefined) await this.#record(closed);
  }

  /** Too many windows: every one goes, the counts so far recorded. */
  #closeAll(): void {
    for (const [key, window] of [...this.#windows]) {
      const closed = this.#close(key, window);
      if (closed !== undefined) void this.#record(closed);
    }
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
