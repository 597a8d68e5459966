import { describeStoreUrl } from "./store-url.js";

/**
 * The store's database cannot be connected to (refused, unknown host, a role or database the
 * server does not know, a wrong password, no answer in time). The message names the store by its
 * URL with the password masked, never the password, and says why, as the driver put it.
 */
export class StoreUnreachable extends Error {
  constructor(url: string, cause: unknown) {
    super(`cannot connect to the store ${describeStoreUrl(url)}: ${reasonOf(cause)}`, { cause });
    this.name = "StoreUnreachable";
  }
}

/** The {@link StoreUnreachable} that `error` is, or was caused by; undefined when none. */
export function findStoreUnreachable(error: unknown): StoreUnreachable | undefined {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof StoreUnreachable) return cause;
  }
  return undefined;
}

/**
 * Why a connection failed. Node reports a host name that resolves to several addresses, each
 * refused (`localhost`: ::1 and 127.0.0.1), as an AggregateError with an empty message.
 */
function reasonOf(cause: unknown): string {
  if (cause instanceof AggregateError && cause.message === "") {
    return cause.errors.map(reasonOf).join("; ");
  }
  return cause instanceof Error ? cause.message : String(cause);
}
