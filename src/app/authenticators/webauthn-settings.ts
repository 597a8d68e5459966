import type { WebAuthnSettingsInput } from "../application.js";
import { AppError } from "../errors.js";
import type { WebAuthnSettings } from "../records.js";

const HOST_LABELS = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const AAGUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NAME = /^[^\p{Cc}]{1,64}$/u;

const isLocalhost = (host: string) => host === "localhost" || host.endsWith(".localhost");

/**
 * Why `rpId` cannot be an RP id, or undefined. WebAuthn §5.1.4.1: a valid domain, never an IP
 * address. Without the public suffix list, a single label other than `localhost` (`com`) is
 * refused as the nearest safe approximation of "not a public suffix".
 */
function rpIdProblem(rpId: string): string | undefined {
  if (!HOST_LABELS.test(rpId) || rpId.length > 253) return "rpId is not a lower-case domain name";
  if (IPV4.test(rpId)) return "rpId is an IP address, which can never be an RP id";
  if (!rpId.includes(".") && rpId !== "localhost") return "rpId is a single label";
  return undefined;
}

/**
 * Why `origin` is not acceptable for `rpId`, or undefined: an exact origin (scheme, host, port;
 * no path), https, or http only on localhost (a secure context), on a host that is the RP id or
 * below it (WebAuthn §5.1.3 step 8, §5.1.4.1 step 7).
 */
function originProblem(origin: string, rpId: string): string | undefined {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return `${origin} is not a URL`;
  }
  if (url.origin !== origin) return `${origin} is not an origin (no path, no trailing slash)`;
  const host = url.hostname;
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLocalhost(host))) {
    return `${origin} is not https (http only for localhost)`;
  }
  if (host !== rpId && !host.endsWith(`.${rpId}`)) {
    return `${rpId} is not a registrable suffix of ${host}`;
  }
  return undefined;
}

/**
 * Checks settings as an administrator sent them, filling defaults; all problems at once. A list
 * of authenticator models needs attestation roots in the server's configuration: without them
 * no model is proven, and the list would admit nothing (or, trusted as reported, anything).
 */
export function validateWebAuthnSettings(
  input: WebAuthnSettingsInput,
  tenantName: string,
  server: { readonly verifiesAttestation: boolean },
): WebAuthnSettings {
  const problems: string[] = [];
  const rpId = input.rpId;
  const rpProblem = rpIdProblem(rpId);
  if (rpProblem !== undefined) problems.push(rpProblem);
  if (input.origins.length === 0) problems.push("origins is empty");
  if (new Set(input.origins).size !== input.origins.length) problems.push("origins repeat");
  if (rpProblem === undefined) {
    for (const origin of input.origins) {
      const problem = originProblem(origin, rpId);
      if (problem !== undefined) problems.push(problem);
    }
  }
  const rpName = input.rpName ?? tenantName;
  if (!NAME.test(rpName) || rpName.trim().length === 0) {
    problems.push("rpName is 1–64 characters, no control ones");
  }
  const aaguids = (input.aaguids ?? []).map((a) => a.toLowerCase());
  for (const aaguid of aaguids) {
    if (!AAGUID.test(aaguid)) problems.push(`${aaguid} is not an AAGUID`);
  }
  if (aaguids.length > 0 && !server.verifiesAttestation) {
    problems.push(
      "aaguids need attestation roots in the server's configuration (webauthn.attestationRoots), which has none: no model could be proven",
    );
  }
  if (problems.length > 0) {
    throw new AppError("webauthn.settings_invalid", problems.join("; "), { problems });
  }
  return {
    rpId,
    rpName,
    origins: [...input.origins],
    userVerification: input.userVerification ?? "required",
    // An allow-list needs the model to be reported: attestation `direct` (checklist W8).
    attestation: aaguids.length > 0 ? "direct" : (input.attestation ?? "none"),
    aaguids: [...new Set(aaguids)],
    signCountPolicy: input.signCountPolicy ?? "reject",
  };
}

/**
 * The settings of a tenant that set none: the server's public URL is the only origin and its
 * host the RP id; UV required, attestation `none`, a counter regression refused. Undefined when
 * there is no public URL, or when it could not serve as an RP (an IP address, plain http).
 */
export function defaultWebAuthnSettings(
  publicUrl: string | undefined,
  tenantName: string,
): WebAuthnSettings | undefined {
  if (publicUrl === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(publicUrl);
  } catch {
    return undefined;
  }
  try {
    return validateWebAuthnSettings(
      { rpId: url.hostname, rpName: tenantName, origins: [url.origin] },
      tenantName,
      { verifiesAttestation: false },
    );
  } catch {
    return undefined;
  }
}
