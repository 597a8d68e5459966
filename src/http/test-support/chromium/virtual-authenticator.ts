import type { CDPSession, Page } from "playwright-core";

/**
 * Chromium's virtual authenticator (Chrome DevTools Protocol `WebAuthn` domain): a real CTAP2
 * authenticator inside the browser that creates real credentials and signs real assertions, with
 * knobs for the attacks a test needs (no user verification, a lower sign count, bogus bits).
 * It belongs to one tab and its CDP session.
 *
 * @module
 */

/**
 * The root that the virtual authenticator's `packed` attestations chain to: its "Batch
 * Certificate", which Chromium signs with a fixed test key and issues to itself (the leaf it
 * sends is self-signed by that key, under that name). Listed as an operator's attestation root,
 * it lets a test see a real attestation verified end to end. Taken from Chromium 156
 * (`attestation: "direct"`, `transport: "usb"`); its key is the same in every run and transport.
 */
export const VIRTUAL_AUTHENTICATOR_ATTESTATION_ROOT = `-----BEGIN CERTIFICATE-----
MIIB0zCCAXqgAwIBAgIBATAKBggqhkjOPQQDAjBgMQswCQYDVQQGEwJVUzERMA8G
A1UECgwIQ2hyb21pdW0xIjAgBgNVBAsMGUF1dGhlbnRpY2F0b3IgQXR0ZXN0YXRp
b24xGjAYBgNVBAMMEUJhdGNoIENlcnRpZmljYXRlMB4XDTE3MDcxNDAyNDAwMFoX
DTQ2MTIwMTAyNTgyN1owYDELMAkGA1UEBhMCVVMxETAPBgNVBAoMCENocm9taXVt
MSIwIAYDVQQLDBlBdXRoZW50aWNhdG9yIEF0dGVzdGF0aW9uMRowGAYDVQQDDBFC
YXRjaCBDZXJ0aWZpY2F0ZTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABI1hfmXJ
UI5kvMVnOsgqZ5naPBRGaCwljEY//99Y39L6Pmw3i1PXlcSk3/tBme3Xhi8jq68C
A7S4kRugVpmU4QGjJTAjMAwGA1UdEwEB/wQCMAAwEwYLKwYBBAGC5RwCAQEEBAMC
BSAwCgYIKoZIzj0EAwIDRwAwRAIgQdJwV95YwOecvWQ0Ftfd2VCqj0Ay8OZod894
iir34j4CIE8KpvLgBOthsGl3qEchjoHV2r8xN5FN/nRBMvafHbmV
-----END CERTIFICATE-----
`;

/** The AAGUID Chromium's virtual CTAP2 authenticator reports. */
export const VIRTUAL_AUTHENTICATOR_AAGUID = "01020304-0506-0708-0102-030405060708";

export interface VirtualAuthenticatorOptions {
  readonly transport?: "internal" | "usb" | "nfc" | "ble";
  readonly hasResidentKey?: boolean;
  readonly hasUserVerification?: boolean;
  readonly isUserVerified?: boolean;
  /** BE: a synced (backup-eligible) passkey. */
  readonly backupEligible?: boolean;
  /** BS: currently backed up. */
  readonly backupState?: boolean;
}

/** A credential as the virtual authenticator holds it. */
export interface VirtualCredential {
  readonly credentialId: string;
  readonly isResidentCredential: boolean;
  readonly rpId?: string;
  /** PKCS#8, base64. */
  readonly privateKey: string;
  readonly userHandle?: string;
  readonly signCount: number;
  readonly backupEligibility?: boolean;
  readonly backupState?: boolean;
}

export interface VirtualAuthenticator {
  readonly id: string;
  readonly cdp: CDPSession;
  setUserVerified(isUserVerified: boolean): Promise<void>;
  /** Bits the authenticator lies about in its next responses; each call resets the others. */
  setResponseOverrideBits(bits: {
    isBadUV?: boolean;
    isBadUP?: boolean;
    isBogusSignature?: boolean;
  }): Promise<void>;
  credentials(): Promise<VirtualCredential[]>;
  addCredential(credential: VirtualCredential): Promise<void>;
  removeCredential(credentialId: string): Promise<void>;
  setCredentialProperties(
    credentialId: string,
    properties: { backupEligibility?: boolean; backupState?: boolean },
  ): Promise<void>;
  /** Detaches the authenticator from the tab. */
  remove(): Promise<void>;
}

/** Attaches a virtual CTAP 2.1 authenticator to `page`, answering without any UI. */
export async function addVirtualAuthenticator(
  page: Page,
  options: VirtualAuthenticatorOptions = {},
): Promise<VirtualAuthenticator> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      ctap2Version: "ctap2_1",
      transport: options.transport ?? "internal",
      hasResidentKey: options.hasResidentKey ?? true,
      hasUserVerification: options.hasUserVerification ?? true,
      isUserVerified: options.isUserVerified ?? true,
      automaticPresenceSimulation: true,
      defaultBackupEligibility: options.backupEligible ?? false,
      defaultBackupState: options.backupState ?? false,
    },
  });
  return {
    id: authenticatorId,
    cdp,
    async setUserVerified(isUserVerified) {
      await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified });
    },
    async setResponseOverrideBits(bits) {
      await cdp.send("WebAuthn.setResponseOverrideBits", { authenticatorId, ...bits });
    },
    async credentials() {
      const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
      return credentials;
    },
    async addCredential(credential) {
      await cdp.send("WebAuthn.addCredential", { authenticatorId, credential });
    },
    async removeCredential(credentialId) {
      await cdp.send("WebAuthn.removeCredential", { authenticatorId, credentialId });
    },
    async setCredentialProperties(credentialId, properties) {
      await cdp.send("WebAuthn.setCredentialProperties", {
        authenticatorId,
        credentialId,
        ...properties,
      });
    },
    async remove() {
      await cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId });
    },
  };
}
