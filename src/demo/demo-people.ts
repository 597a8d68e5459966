/**
 * The people of the demo platform, one per path through tenant-mfa. They match the principals
 * `serve --demo` seeds (src/cli/seed-demo.ts); the platform knows them by its own handle
 * (`alice@acme`) and tells tenant-mfa the tenant and principal id.
 *
 * @module
 */

/** One person who can sign in to the demo platform. */
export interface DemoPerson {
  /** The platform's handle, `principal@tenant`. */
  readonly handle: string;
  readonly tenant: string;
  readonly principal: string;
  readonly name: string;
  readonly organisation: string;
  /** Signs in at the organisation's IdP: the platform checks no password of theirs. */
  readonly sso: boolean;
  /** The path through tenant-mfa, in a line. */
  readonly path: string;
}

export const DEMO_PEOPLE: readonly DemoPerson[] = [
  {
    handle: "alice@acme",
    tenant: "acme",
    principal: "alice",
    name: "Alice Ames",
    organisation: "Acme Corporation",
    sso: false,
    path: "Platform MFA: a TOTP app or a passkey, set up on the first sign-in.",
  },
  {
    handle: "bob@globex",
    tenant: "globex",
    principal: "bob",
    name: "Bob Barnes",
    organisation: "Globex",
    sso: false,
    path: "Phishing-resistant only: a passkey or a security key; no codes.",
  },
  {
    handle: "carol@initech",
    tenant: "initech",
    principal: "carol",
    name: "Carol Cho",
    organisation: "Initech",
    sso: true,
    path: "MFA at the organisation's own IdP (the bundled development IdP).",
  },
  {
    handle: "breakglass@acme",
    tenant: "acme",
    principal: "breakglass",
    name: "Break-glass admin",
    organisation: "Acme Corporation",
    sso: false,
    path: "An exempted break-glass account: let through without MFA while the exemption lasts.",
  },
];
