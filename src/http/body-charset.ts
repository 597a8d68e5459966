/**
 * The charset a request body may declare. The server reads every body as UTF-8: JSON exchanged
 * between systems is UTF-8 (RFC 8259 §8.1), and so are the forms it takes (the SAML ACS, the
 * hosted flows': @fastify/formbody decodes them as UTF-8; a browser sends a form in its page's
 * encoding, UTF-8 for the hosted pages, and declares none). A body declared in another charset
 * (`utf-16`, `latin1`, `windows-1252`) would be read as text its sender did not write, so it is
 * refused.
 *
 * @module
 */

/** RFC 9110 §5.6.2 `token`. */
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
/** RFC 9110 §5.6.4 `quoted-string`. */
const QUOTED = '"(?:[\\t !#-\\[\\]-~\\x80-\\xff]|\\\\[\\t -~\\x80-\\xff])*"';
/** One `OWS ";" OWS [ parameter ]` of RFC 9110 §5.6.6, from where the last one ended. */
const PARAMETER = new RegExp(`[ \\t]*;[ \\t]*(?:(${TOKEN})=(${TOKEN}|${QUOTED}))?[ \\t]*`, "y");

/**
 * The labels of UTF-8 in the WHATWG Encoding Standard (§4.2), which browsers and HTTP clients
 * send: `utf8` is as common as `utf-8`, and refusing it would refuse UTF-8.
 */
const UTF8_LABELS = new Set([
  "unicode-1-1-utf-8",
  "unicode11utf8",
  "unicode20utf8",
  "utf-8",
  "utf8",
  "x-unicode20utf8",
]);

/**
 * Whether a `Content-Type` header value lets its body be read as UTF-8: it declares no charset,
 * or a label of UTF-8 (in any case, quoted or not). A header whose parameters do not parse counts as
 * declaring another charset when it names one, so that no spelling slips a charset past.
 */
export function declaresUtf8OrNone(contentType: string): boolean {
  const start = contentType.indexOf(";");
  if (start < 0) return true;
  let position = start;
  while (position < contentType.length) {
    PARAMETER.lastIndex = position;
    const match = PARAMETER.exec(contentType);
    if (match === null) return !/charset/i.test(contentType.slice(start));
    position = PARAMETER.lastIndex;
    const [, name, value] = match;
    if (name === undefined || value === undefined || name.toLowerCase() !== "charset") continue;
    const text = value.startsWith('"') ? value.slice(1, -1).replace(/\\(.)/gs, "$1") : value;
    if (!UTF8_LABELS.has(text.toLowerCase())) return false;
  }
  return true;
}

/** The detail of the problem that refuses a JSON body declared in another charset. */
export const JSON_NOT_UTF8_DETAIL =
  "A JSON body is read as UTF-8 (RFC 8259 §8.1): send it in UTF-8, as `Content-Type: application/json` or `application/json; charset=utf-8`.";

/** The detail of the problem that refuses a form declared in another charset. */
export const FORM_NOT_UTF8_DETAIL =
  "A form is read as UTF-8: send it in UTF-8, as `Content-Type: application/x-www-form-urlencoded` or `application/x-www-form-urlencoded; charset=utf-8`.";
