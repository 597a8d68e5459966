import { createHash } from "node:crypto";
import {
  WEBAUTHN_ALGORITHMS,
  type WebAuthnProtocol,
} from "../../app/authenticators/webauthn-protocol.js";
import { parseAttestationRoots } from "./attestation-trust.js";
import type { VerificationThreads } from "./verification-threads.js";

export { parseAttestationRoots } from "./attestation-trust.js";
export {
  defaultVerificationThreads,
  startVerificationThreads,
  type VerificationThreads,
} from "./verification-threads.js";

const transports = (list: readonly string[]) => [...list];

let loading: Promise<typeof import("./ceremonies.js")> | undefined;
let loaded = false;
/**
 * The library and our checks over it, loaded once (`ceremonies.ts`): at the first ceremony, or
 * before a server listens ({@link loadWebAuthnCeremonies}). Loading takes about half a second,
 * which a command that never meets a passkey should not pay.
 */
const ceremonies = () =>
  (loading ??= import("./ceremonies.js").then((module) => {
    loaded = true;
    return module;
  }));

/**
 * Loads what the ceremonies need now, so that a server's first passkey ceremony does not wait
 * for it (half a second on an idle machine, seconds on a busy one).
 */
export async function loadWebAuthnCeremonies(): Promise<void> {
  await ceremonies();
}

/** Whether {@link loadWebAuthnCeremonies}, or a ceremony, has loaded them. */
export const webAuthnCeremoniesLoaded = (): boolean => loaded;

/**
 * WebAuthn over `@simplewebauthn/server` 14, with the checks the library leaves to its caller
 * (security checklist §7). Stateless: the use cases store challenges and credentials.
 * `attestationRoots` (PEM or base64 DER, as the configuration gives them) are the roots a
 * credential's attestation must chain to for it to count as attested hardware.
 */
export function createWebAuthnProtocol(
  options: {
    readonly attestationRoots?: readonly string[];
    /**
     * Where registrations and assertions are checked: by default on the calling thread; given,
     * on these worker threads (see {@link startVerificationThreads}), which their starter closes.
     */
    readonly verificationThreads?: VerificationThreads;
  } = {},
): WebAuthnProtocol {
  const roots = (options.attestationRoots ?? []).flatMap(parseAttestationRoots);
  const trusted = new Set(roots.map((root) => root.fingerprint256));
  const threads = options.verificationThreads;
  return {
    verifiesAttestation: roots.length > 0,
    trustsAttestationRoot: (fingerprint) => trusted.has(fingerprint),
    registrationOptions: async (input) =>
      (await ceremonies()).generateRegistrationOptions({
        rpName: input.rp.name,
        rpID: input.rp.id,
        userName: input.user.name,
        userDisplayName: input.user.displayName,
        // WebAuthn §14.6.1: the user handle carries no personal data; a hash of the opaque id
        // keeps it stable, so that an authenticator replaces rather than piles up passkeys.
        userID: createHash("sha256").update(input.user.id, "utf8").digest(),
        challenge: Buffer.from(input.challenge, "base64url"),
        timeout: input.timeoutMs,
        attestationType: input.attestation,
        excludeCredentials: input.excludeCredentials.map((c) => ({
          id: c.id,
          transports: transports(c.transports),
        })),
        authenticatorSelection: {
          residentKey: "preferred",
          userVerification: input.userVerification,
        },
        supportedAlgorithmIDs: [...WEBAUTHN_ALGORITHMS],
      }) as unknown as Promise<Readonly<Record<string, unknown>>>,
    verifyRegistration: async (input) =>
      (threads?.verifyRegistration ?? (await ceremonies()).verifyRegistration)({
        ...input,
        attestationRoots: roots,
      }),
    authenticationOptions: async (input) =>
      (await ceremonies()).generateAuthenticationOptions({
        rpID: input.rp.id,
        challenge: Buffer.from(input.challenge, "base64url"),
        timeout: input.timeoutMs,
        userVerification: input.userVerification,
        allowCredentials: input.allowCredentials.map((c) => ({
          id: c.id,
          transports: transports(c.transports),
        })),
      }) as unknown as Promise<Readonly<Record<string, unknown>>>,
    verifyAuthentication:
      threads?.verifyAuthentication ??
      (async (input) => (await ceremonies()).verifyAuthentication(input)),
  };
}
