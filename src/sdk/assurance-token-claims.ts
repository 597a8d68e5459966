import type { AssuranceClaims } from "../core/assurance-claims.js";

export { ASSURANCE_TOKEN_TYPE } from "../core/assurance-claims.js";

/**
 * The claims of a verified assurance token: what tenant-mfa vouches for about one allowed
 * sign-in, exactly as the server builds them (times in seconds since the epoch). The SDK checks
 * every field for presence and type before it hands out a value of this type.
 */
export type AssuranceTokenClaims = AssuranceClaims;
