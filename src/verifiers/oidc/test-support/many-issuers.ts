import { beforeEach } from "vitest";
import type {
  OidcIdpSettings,
  OidcRejection,
  Verified,
  VerifiedIdToken,
} from "../../../app/federation/protocols.js";
import type { OidcProtocolOptions } from "../index.js";
import { validClaims, type AttackBench } from "./attack-fixture.js";
import { useCountedStub } from "./counted-stub.js";
import type { StubIdp, StubKey } from "./stub-idp.js";

/** The cache bound of the many-issuer tests: four issuers' padded key sets fit, five do not. */
export const MANY_ISSUERS_CACHE_MAX_BYTES = 1024 * 1024;

/** A key no token names, making each key set some 240 KiB. */
const PADDING_KEY = { kty: "RSA", kid: "padding", e: "AQAB", n: "A".repeat(240 * 1024) };

/** The stub IdP serving many issuers, each key set padded to some 240 KiB, and a relying party. */
export interface ManyIssuers {
  readonly stub: StubIdp;
  readonly bench: AttackBench;
  /** Issuers no test of the file met before, so that the stub's counts at them start at zero. */
  readonly newIssuers: (count: number) => OidcIdpSettings[];
  /** Completes a sign-in at `idp` with a valid ID token, signed by `key` (the stub's own). */
  readonly signIn: (
    idp: OidcIdpSettings,
    key?: StubKey,
    registration?: OidcIdpSettings["registration"],
  ) => Promise<Verified<VerifiedIdToken, OidcRejection>>;
  /** The requests the stub answered at `idp`'s discovery and JWKS endpoints. */
  readonly fetchesAt: (idp: OidcIdpSettings) => { discovery: number; jwks: number };
}

/**
 * {@link useCountedStub} with a relying party whose caches hold
 * {@link MANY_ISSUERS_CACHE_MAX_BYTES} (unless `options` say otherwise), and an IdP publishing a
 * padded key set at every issuer: signing in at five issuers leaves the least recently used out.
 */
export function useManyIssuers(options: Partial<OidcProtocolOptions> = {}): ManyIssuers {
  const counted = useCountedStub({ cacheMaxBytes: MANY_ISSUERS_CACHE_MAX_BYTES, ...options });
  beforeEach(() => {
    counted.stub.publishedKeys = [counted.stub.key.publicJwk, PADDING_KEY];
  });
  let issuers = 0;
  return {
    get stub() {
      return counted.stub;
    },
    get bench() {
      return counted.bench;
    },
    newIssuers: (count) =>
      Array.from({ length: count }, () => {
        issuers += 1;
        return counted.stub.otherIssuer(`issuer-${String(issuers)}`);
      }),
    signIn: async (idp, key, registration) => {
      const { stub, bench } = counted;
      const token = await stub.sign({ ...validClaims(stub), iss: idp.issuer }, {}, key);
      return bench.present(token, {}, registration === undefined ? idp : { ...idp, registration });
    },
    fetchesAt: (idp) => {
      const { discovery, jwks } = counted.stub.requestsAt(idp.issuer);
      return { discovery, jwks };
    },
  };
}
