/**
 * The path and query of a request target in any form. An absolute-form target
 * (`GET http://host/t/…?code=… HTTP/1.1`, RFC 9112 §3.2.2) is routed by its path, so its scheme
 * and authority are dropped; the path is resolved as a URL's (dot segments, percent-encoding).
 * A target that is no URL keeps its path and loses its query. An origin-form target is a path
 * even where it begins like a scheme-relative URL (`//t/…`, or `/\t/…`, which URL parsing reads
 * as `//`): resolved against a base, its first segment would be taken for a host and dropped.
 */
export function requestTarget(url: string): { readonly path: string; readonly search: string } {
  try {
    const { pathname, search } = url.startsWith("/")
      ? new URL(`http://x${url}`)
      : new URL(url, "http://x");
    return { path: pathname, search };
  } catch {
    return { path: url.split(/[?#]/, 1)[0] ?? "", search: "" };
  }
}
