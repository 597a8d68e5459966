import { MAX_JSON_DEPTH, nestsDeeperThan } from "../../app/json-depth.js";

/** The subset of WHATWG `fetch` this verifier uses; injectable so tests can count and fail requests. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/**
 * A JSON answer from an IdP endpoint, with its body's length in bytes (what a cache of it costs),
 * or why there is none (for the audit detail).
 */
export type JsonAnswer =
  | { readonly ok: true; readonly status: number; readonly body: unknown; readonly bytes: number }
  | { readonly ok: false; readonly reason: string };

/** Discovery documents, key sets and token responses are small; anything larger is refused unread. */
const MAX_BODY_BYTES = 256 * 1024;

/**
 * One request to an IdP endpoint, bounded in time and size. Redirects are not followed: an
 * endpoint the IdP published answers itself, and following a `Location` would let a compromised
 * or confused endpoint steer this server at other hosts. The timeout covers the body too, and
 * holds even against a `fetch` that ignores its abort signal.
 */
export async function fetchJson(
  fetchImpl: FetchLike,
  url: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<JsonAnswer> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<JsonAnswer>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({ ok: false, reason: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
  });
  try {
    return await Promise.race([request(fetchImpl, url, init, controller.signal), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

async function request(
  fetchImpl: FetchLike,
  url: string,
  init: RequestInit,
  signal: AbortSignal,
): Promise<JsonAnswer> {
  let response: Response;
  try {
    response = await fetchImpl(url, {
      ...init,
      redirect: "manual",
      signal,
      headers: { accept: "application/json", ...(init.headers as Record<string, string>) },
    });
  } catch (error) {
    return { ok: false, reason: `request failed (${errorName(error)})` };
  }
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel().catch(() => undefined);
    return { ok: false, reason: `answered with a redirect (${response.status}), not followed` };
  }
  const bytes = await readCapped(response);
  if (bytes === undefined) return { ok: false, reason: "answer unreadable or too large" };
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString("utf8"));
  } catch {
    return { ok: false, reason: `answered ${response.status} without JSON` };
  }
  // No IdP document nests more than a few levels; one nested thousands deep (which JSON.parse
  // reads) overflows the stack of whatever writes a value of it out again, a refusal's detail say.
  if (nestsDeeperThan(body, MAX_JSON_DEPTH)) {
    return {
      ok: false,
      reason: `answered JSON nested deeper than ${String(MAX_JSON_DEPTH)} levels`,
    };
  }
  return { ok: true, status: response.status, body, bytes: bytes.byteLength };
}

async function readCapped(response: Response): Promise<Buffer | undefined> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) {
    await response.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (response.body === null) return Buffer.alloc(0);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > MAX_BODY_BYTES) {
        await reader.cancel();
        return undefined;
      }
      chunks.push(value);
    }
  } catch {
    return undefined;
  }
  return Buffer.concat(chunks);
}

function errorName(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    const code =
      typeof cause === "object" && cause !== null ? (cause as { code?: unknown }).code : undefined;
    return typeof code === "string" ? `${error.name}: ${code}` : error.name;
  }
  return "unknown error";
}
