/** Where a store lives, read from the `--db` URL. */
export type StoreLocation =
  | { readonly dialect: "sqlite"; readonly path: string }
  | { readonly dialect: "postgres"; readonly connectionString: string };

const SQLITE_PREFIX = "sqlite:";
const POSTGRES = /^postgres(ql)?:\/\//;

/**
 * Reads `sqlite:PATH`, `sqlite::memory:`, `postgres://…` or `postgresql://…`. The message of a
 * refused URL names only its scheme: the rest may hold a password.
 */
export function parseStoreUrl(url: string): StoreLocation {
  if (url.startsWith(SQLITE_PREFIX)) {
    const path = url.slice(SQLITE_PREFIX.length);
    if (path === "") {
      throw new Error("Store URL sqlite: names no file; use sqlite:PATH or sqlite::memory:");
    }
    return { dialect: "sqlite", path };
  }
  if (POSTGRES.test(url)) {
    if (misplacedUserInfo(url)) {
      throw new Error(
        "The PostgreSQL store URL has an @ after its host, or is not a URL: a password holding " +
          "/, ?, # or @ must be percent-encoded (%2F, %3F, %23, %40), else part of it is read " +
          "as the host, the database name or the query, and could be shown as such.",
      );
    }
    return { dialect: "postgres", connectionString: url };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
  throw new Error(
    `Unsupported store URL${scheme === undefined ? "" : ` scheme ${scheme}:`}; ` +
      "use sqlite:PATH, sqlite::memory: or postgres://…",
  );
}

/**
 * The store's kind and place, fit for a message: a PostgreSQL URL's user, host and database, its
 * password masked (`postgres://app:***@db:5432/tenant_mfa`) and its query left out (pg reads a
 * `password` there too).
 */
export function describeStoreUrl(url: string): string {
  if (url.startsWith(SQLITE_PREFIX)) return url;
  if (misplacedUserInfo(url)) return "postgres";
  const parsed = new URL(url);
  const user =
    parsed.username === "" && parsed.password === ""
      ? ""
      : `${parsed.username}${parsed.password === "" ? "" : ":***"}@`;
  return `${parsed.protocol}//${user}${parsed.host}${parsed.pathname}`;
}

/** The query parameters of a PostgreSQL URL that pg reads as a password. */
const PASSWORD_PARAMETERS = ["password", "sslpassword"];

/**
 * Whether a PostgreSQL store URL holds a password: in its user info, or a query parameter pg
 * reads as one. One that does not parse is taken to hold one when it has user info at all.
 */
export function storeUrlHasPassword(url: string): boolean {
  if (!POSTGRES.test(url)) return false;
  if (misplacedUserInfo(url)) return url.includes("@");
  const parsed = new URL(url);
  return (
    parsed.password !== "" ||
    PASSWORD_PARAMETERS.some((name) => (parsed.searchParams.get(name) ?? "") !== "")
  );
}

/**
 * True when a PostgreSQL URL does not parse, or holds an `@` past its authority: a password with
 * an unencoded `/` (`postgres://app:/S3cret@db/app`) leaves the rest of it, user info included,
 * in the path, where a message naming the database would repeat it.
 */
function misplacedUserInfo(url: string): boolean {
  try {
    const { pathname, search, hash } = new URL(url);
    return `${pathname}${search}${hash}`.includes("@");
  } catch {
    return true;
  }
}
