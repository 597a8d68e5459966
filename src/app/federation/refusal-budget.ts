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
 * is handed to `record`, by a timer, or by the next refusal should it come first; when the
 * instance closes before the minute ends, {@link RefusalBudget.close} hands it on then, its `to`
 * the close time, with every other minute under way, {@link RECORDED_AT_ONCE} at a time. Per instance, in memory: the bound is that many per instance, which is what
 * keeps a chain from growing without one. A count is lost only when the instance dies without
 * closing (killed, crashed), or when recording it fails, which is reported as a process warning.
 */
export class RefusalBudget {
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #record: (closed: readonly ClosedWindow[]) => Promise<void>;
  readonly #limits: RefusalLimits;
  readonly #windows = new Map<string, Window>();

  constructor(
    clock: Clock,
    timers: Timers,
    /**
     * Records minutes' counts, those of one call together (one transaction): one minute's when
     * it ends, up to {@link RECORDED_AT_ONCE} when the budget closes or starts again; each minute
     * that counted any is handed on once. Its failure is reported as a process warning (the
     * counts are lost), never passed on.
     */
    record: (closed: readonly ClosedWindow[]) => Promise<void>,
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

  /**
   * Stops every timer and records what the minutes under way counted, up to now (their `to` is
   * the close time), {@link RECORDED_AT_ONCE} at a time: called as the instance stops, before
   * its store closes, so that no count is lost for want of the minute's end. Waits at most
   * {@link CLOSE_WAIT_MS} (a store that does not answer must not hold the shutdown up), and
   * starts no recording after it; a failure, or a count not recorded in time, is reported as a
   * process warning and never rejects.
   */
  async close(): Promise<void> {
    const now = this.#clock.now().getTime();
    const pending: ClosedWindow[] = [];
    for (const [key, window] of [...this.#windows]) {
      const closed = this.#close(key, window, Math.max(now, window.start));
      if (closed !== undefined) pending.push(closed);
    }
    if (pending.length === 0) return;
    let timedOut = false;
    // The batch being recorded when the wait ends is reported lost with the ones after it: it
    // may yet commit, but the store is about to close under it.
    let recorded = 0;
    const recording = (async () => {
      for (const batch of batches(pending)) {
        if (timedOut) return;
        await this.#save(batch);
        if (!timedOut) recorded += batch.length;
      }
    })();
    let cancel: (() => void) | undefined;
    const waited = new Promise<"timeout">((resolve) => {
      cancel = this.#timers.after(CLOSE_WAIT_MS, () => {
        resolve("timeout");
        return Promise.resolve();
      });
    });
    const outcome = await Promise.race([recording.then(() => "recorded" as const), waited]);
    cancel?.();
    if (outcome === "timeout") {
      timedOut = true;
      for (const closed of pending.slice(recorded)) {
        warnLost(closed, `not recorded within ${String(CLOSE_WAIT_MS)} ms of closing`);
      }
    }
  }

  /** Forgets `window`, stopping its timer; its count up to `end` (its minute's end), if any. */
  #close(key: string, window: Window, end = window.start + WINDOW_MS): ClosedWindow | undefined {
    window.cancel?.();
    this.#windows.delete(key);
    return window.suppressed === 0
      ? undefined
      : { tenant: window.tenant, idp: window.idp, suppressed: summary(window, end) };
  }

  /** Records `closed` together; a failure is reported, each count lost, not passed on. */
  async #save(closed: readonly ClosedWindow[]): Promise<void> {
    try {
      await this.#record(closed);
    } catch (error) {
      const why = error instanceof Error ? error.message : "recording it failed";
      for (const lost of closed) warnLost(lost, why);
    }
  }

  /** The minute of `window` is over: its count is recorded, unless a refusal closed it first. */
  async #expire(key: string, window: Window): Promise<void> {
    if (this.#windows.get(key) !== window) return;
    const closed = this.#close(key, window);
    if (closed !== undefined) await this.#save([closed]);
  }

  /** Too many windows: every one goes, the counts so far recorded, a batch after another. */
  #closeAll(): void {
    const pending: ClosedWindow[] = [];
    for (const [key, window] of [...this.#windows]) {
      const closed = this.#close(key, window);
      if (closed !== undefined) pending.push(closed);
    }
    void (async () => {
      for (const batch of batches(pending)) await this.#save(batch);
    })();
  }
}

/** How long {@link RefusalBudget.close} waits for the counts under way to be recorded. */
export const CLOSE_WAIT_MS = 5_000;

/**
 * How many minutes' counts are recorded together (one transaction) at most, when the budget
 * closes or starts again: a backlog of {@link MAX_WINDOWS} takes ten, and a failure loses one
 * batch, not all.
 */
export const RECORDED_AT_ONCE = 1_000;

/** `closed`, {@link RECORDED_AT_ONCE} at a time. */
function* batches(closed: readonly ClosedWindow[]): Generator<readonly ClosedWindow[]> {
  for (let start = 0; start < closed.length; start += RECORDED_AT_ONCE) {
    yield closed.slice(start, start + RECORDED_AT_ONCE);
  }
}

/**
 * Reports a count that could not be recorded, as the store reports what must not fail its caller
 * (a process warning, which stderr shows): what was counted, where and when, and why it was not
 * recorded. Nothing of the refused answers themselves is in it, only identifiers and reason codes.
 */
function warnLost({ tenant, idp, suppressed }: ClosedWindow, why: string): void {
  process.emitWarning(
    `${String(suppressed.count)} federation refusals of tenant ${tenant} at IdP ${idp} counted past the audit budget (${suppressed.from} to ${suppressed.to}) were lost: ${why}`,
    { code: "TENANT_MFA_REFUSALS_LOST" },
  );
}

function summary(window: Window, end: number): SuppressedRefusals {
  return {
    count: window.suppressed,
    reasons: { ...window.reasons },
    from: new Date(window.start).toISOString(),
    to: new Date(end).toISOString(),
  };
}
