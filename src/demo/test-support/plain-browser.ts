/**
 * A browser reduced to what the demo's tests need: a cookie jar (by name; paths and expiry
 * beyond deletion are ignored, which is enough on one loopback origin per test) and redirects
 * followed by hand, so that a test sees every hop and stops where it wants to.
 */
export interface PlainBrowser {
  /** One request; cookies sent and stored; redirects not followed. */
  request(
    url: string,
    init?: { method?: string; form?: Record<string, string>; headers?: Record<string, string> },
  ): Promise<Response>;
  /** Follows redirects from `url` until an answer that is not a redirect, or until `stopAt` matches. */
  follow(
    url: string,
    options?: { stopAt?: (location: string) => boolean; form?: Record<string, string> },
  ): Promise<{ url: string; response?: Response }>;
  readonly cookies: Map<string, string>;
}

export function plainBrowser(): PlainBrowser {
  const cookies = new Map<string, string>();

  async function request(
    url: string,
    init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (cookies.size > 0) {
      headers.cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    }
    let body: string | undefined;
    if (init.form !== undefined) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(init.form).toString();
    }
    const response = await fetch(url, {
      method: init.method ?? (body === undefined ? "GET" : "POST"),
      headers,
      redirect: "manual",
      ...(body === undefined ? {} : { body }),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";");
      const at = pair.indexOf("=");
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === "";
      if (expired) cookies.delete(name);
      else cookies.set(name, value);
    }
    return response;
  }

  async function follow(
    start: string,
    options: { stopAt?: (location: string) => boolean; form?: Record<string, string> } = {},
  ): Promise<{ url: string; response?: Response }> {
    let url = start;
    let form = options.form;
    for (let hop = 0; hop < 20; hop++) {
      if (options.stopAt?.(url) === true) return { url };
      const response = await request(url, form === undefined ? {} : { form });
      form = undefined;
      const location = response.headers.get("location");
      if (response.status < 300 || response.status >= 400 || location === null) {
        return { url, response };
      }
      await response.arrayBuffer();
      url = new URL(location, url).href;
    }
    throw new Error(`more than 20 redirects from ${start}`);
  }

  return { request, follow, cookies };
}
