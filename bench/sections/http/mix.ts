/** A decision request body the benchmarks send, and the outcome it must get. */
export interface DecisionCase {
  readonly label: string;
  /** The JSON body, as sent. */
  readonly body: string;
  readonly expected: "allow" | "challenge";
}

/**
 * The sign-ins of the HTTP benchmarks, for a registered `direct` principal of a `platform_mfa`
 * tenant, cycled in this order: three of four are password + TOTP (allow), one is password only
 * from a principal with TOTP enrolled (challenge: verify TOTP). Times are minutes before `now`.
 */
export function decisionCases(principal: string, now: Date): readonly DecisionCase[] {
  const ago = (minutes: number): string => new Date(now.getTime() - minutes * 60_000).toISOString();
  const allow: DecisionCase = {
    label: "password + TOTP",
    body: JSON.stringify({
      principal: { id: principal },
      evidence: {
        events: [
          { method: "password", source: "platform", at: ago(2) },
          { method: "totp", source: "platform", at: ago(1) },
        ],
      },
    }),
    expected: "allow",
  };
  const challenge: DecisionCase = {
    label: "password only, TOTP enrolled",
    body: JSON.stringify({
      principal: { id: principal, authenticators: [{ method: "totp", id: "phone" }] },
      evidence: { events: [{ method: "password", source: "platform", at: ago(1) }] },
    }),
    expected: "challenge",
  };
  return [allow, allow, allow, challenge];
}

/** A complete HTTP/1.1 POST with a JSON body, as bytes. */
export function postRequest(port: number, path: string, secret: string, body: string): Buffer {
  return Buffer.from(
    `POST ${path} HTTP/1.1\r\n` +
      `host: 127.0.0.1:${String(port)}\r\n` +
      `authorization: Bearer ${secret}\r\n` +
      "content-type: application/json\r\n" +
      `content-length: ${String(Buffer.byteLength(body))}\r\n` +
      "\r\n" +
      body,
    "utf8",
  );
}

const OUTCOME = Buffer.from('"outcome":"', "latin1");
const QUOTE = 0x22;

/** The top-level `outcome` of a decision's JSON, found without parsing it (the first one). */
export function outcomeOf(body: Buffer): string {
  const at = body.indexOf(OUTCOME);
  if (at < 0) return "(none)";
  const start = at + OUTCOME.length;
  return body.toString("latin1", start, body.indexOf(QUOTE, start));
}
