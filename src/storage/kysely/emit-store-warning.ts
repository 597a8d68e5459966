/**
 * Reports a failure that must not fail the caller (the write it concerns already committed, or
 * no caller is waiting) as a process warning, which the server's logger and stderr both see.
 */
export function emitStoreWarning(message: string, cause: unknown): void {
  process.emitWarning(new Error(`${message}: ${errorDetail(cause)}`, { cause }));
}

/** The message of an error, for a message of our own that wraps it. */
export function errorDetail(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
