// What a WebAuthn ceremony runs, over `@simplewebauthn/server`: loaded by `index.ts` at the first
// ceremony, since loading the library costs about a quarter of a second, which a process that
// never runs one (a CLI command, a server whose tenants use no passkeys) need not pay.
export { generateAuthenticationOptions, generateRegistrationOptions } from "@simplewebauthn/server";
export { verifyAuthentication } from "./verify-authentication.js";
export { verifyRegistration } from "./verify-registration.js";
