/**
 * `fs` (the real `node:fs`, as a `vi.mock` factory's `importOriginal` gives it) with every
 * `fsyncSync` shown first to `observe`, with the path its descriptor was opened at (`openSync`):
 * how a test sees what is flushed, or makes one flush fail by throwing. A `vi.mock` factory
 * loads this module itself (`await import(...)`), as it runs before the test file's imports.
 */
export function fsyncObserved(
  fs: typeof import("node:fs"),
  observe: (path: string) => void,
): typeof import("node:fs") {
  const pathOf = new Map<number, string>();
  const openSync = ((...args: Parameters<typeof fs.openSync>) => {
    const descriptor = fs.openSync(...args);
    pathOf.set(descriptor, String(args[0]));
    return descriptor;
  }) as typeof fs.openSync;
  return {
    ...fs,
    openSync,
    fsyncSync(descriptor: number) {
      observe(pathOf.get(descriptor) ?? `fd ${String(descriptor)}`);
      fs.fsyncSync(descriptor);
    },
  };
}
