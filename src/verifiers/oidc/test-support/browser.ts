/**
 * A user agent reduced to what the authorization code flow needs: follow redirects by hand,
 * keep cookies per origin-less jar, and stop at the relying party's redirect URI, returning the
 * callback URL the RP would receive. Loopback only.
 */
export async function followToCallback(startUrl: string, redirectUri: string): Promise<string> {
  const cookies = new Map<string, string>();
  let url = startUrl;
  for (let hop = 0; hop < 12; hop += 1) {
    if (!url.startsWith("http://127.0.0.1:")) throw new Error(`refusing to leave loopback: ${url}`);
    const response = await fetch(url, {
      redirect: "manual",
      headers: cookies.size === 0 ? {} : { cookie: serialise(cookies) },
    });
    remember(cookies, response.headers.getSetCookie());
    const location = response.headers.get("location");
    if (response.status < 300 || response.status >= 400 || location === null) {
      const body = await response.text();
      throw new Error(`flow stopped at ${url} with ${response.status}: ${body.slice(0, 300)}`);
    }
    await response.body?.cancel();
    url = new URL(location, url).toString();
    if (url.startsWith(`${redirectUri}?`)) return url;
  }
  throw new Error("too many redirects");
}

function remember(cookies: Map<string, string>, setCookies: readonly string[]): void {
  for (const line of setCookies) {
    const [pair = "", ...attributes] = line.split(";");
    const separator = pair.indexOf("=");
    const name = pair.slice(0, separator).trim();
    const value = pair.slice(separator + 1).trim();
    const expired = attributes.some((attribute) => {
      const [key = "", raw = ""] = attribute.trim().split("=");
      if (key.toLowerCase() === "max-age") return Number(raw) <= 0;
      if (key.toLowerCase() === "expires") return Date.parse(raw) <= Date.now();
      return false;
    });
    if (expired || value === "") cookies.delete(name);
    else cookies.set(name, value);
  }
}

function serialise(cookies: Map<string, string>): string {
  return [...cookies].map(([name, value]) => `${name}=${value}`).join("; ");
}
