/** Every address a host name resolves to. */
export type ResolveHost = (hostname: string) => Promise<readonly string[]>;

/** A {@link ResolveHost} whose callers may give up waiting for their turn (`signal`). */
export type ResolveHostInTurn = (
  hostname: string,
  signal?: AbortSignal,
) => Promise<readonly string[]>;

/**
 * IdP lookups at once: half of libuv's thread pool (4 threads unless `UV_THREADPOOL_SIZE` says
 * otherwise), where `dns.lookup` runs, so that WebCrypto, fs and zlib keep the other half.
 */
export const DEFAULT_LOOKUP_SLOTS = 2;

/** A lookup given up on before its turn came (its request timed out meanwhile). */
export class LookupAbandoned extends Error {
  override readonly name = "LookupAbandoned";
}

/**
 * `resolve` run at most `slots` at once, the other lookups waiting in turn. A lookup keeps its
 * slot until `resolve` settles, whoever still waits for it: `dns.lookup` holds a pool thread as
 * long as the name server keeps it, and cannot be called off. A caller waiting for its turn gives
 * up when its `signal` aborts (its request's timeout); its lookup is then never started.
 */
export function lookupInTurn(resolve: ResolveHost, slots: number): ResolveHostInTurn {
  let running = 0;
  /** The lookups waiting for a slot, first come first: each starts when called. */
  const waiting = new Set<() => void>();

  const release = (): void => {
    const [next] = waiting;
    if (next === undefined) {
      running -= 1;
      return;
    }
    // The slot passes to the next lookup as it is.
    waiting.delete(next);
    next();
  };

  const turn = (signal: AbortSignal | undefined): Promise<void> => {
    if (running < slots) {
      running += 1;
      return Promise.resolve();
    }
    return new Promise<void>((start, giveUp) => {
      const abandoned = () =>
        new LookupAbandoned("gave up waiting for a lookup slot", { cause: signal?.reason });
      if (signal?.aborted === true) {
        giveUp(abandoned());
        return;
      }
      const abandon = (): void => {
        waiting.delete(begin);
        giveUp(abandoned());
      };
      const begin = (): void => {
        signal?.removeEventListener("abort", abandon);
        start();
      };
      waiting.add(begin);
      signal?.addEventListener("abort", abandon, { once: true });
    });
  };

  return async (hostname, signal) => {
    await turn(signal);
    try {
      return await resolve(hostname);
    } finally {
      release();
    }
  };
}
