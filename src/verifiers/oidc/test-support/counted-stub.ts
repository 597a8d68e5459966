import { afterAll, beforeAll, beforeEach } from "vitest";
import type { OidcProtocolOptions } from "../index.js";
import { createAttackBench, type AttackBench } from "./attack-fixture.js";
import { startStubIdp, type StubIdp, type StubIdpRequests } from "./stub-idp.js";

/** A test file's stub IdP and a fresh attack bench for each test, with what the IdP answered. */
export interface CountedStub {
  readonly stub: StubIdp;
  readonly bench: AttackBench;
  /** The IdP's answers at each endpoint since the test began. */
  fetches(): StubIdpRequests;
}

/**
 * Starts the stub IdP for the file (closed after it) and, before each test, puts its keys, JWKS
 * and discovery back as they start and makes a new relying party (`options`), so that no cache
 * of one test serves another; `fetches()` counts from there.
 */
export function useCountedStub(options: Partial<OidcProtocolOptions> = {}): CountedStub {
  let stub: StubIdp | undefined;
  let bench: AttackBench | undefined;
  let before: StubIdpRequests | undefined;
  const started = (): StubIdp => {
    if (stub === undefined) throw new Error("the stub IdP is not started yet");
    return stub;
  };
  beforeAll(async () => {
    stub = await startStubIdp();
  });
  afterAll(async () => {
    await stub?.close();
  });
  beforeEach(() => {
    const idp = started();
    idp.publishedKeys = [idp.key.publicJwk];
    idp.jwksMode = "up";
    idp.discoveryOverrides = {};
    bench = createAttackBench(idp, options);
    before = { ...idp.requests };
  });
  return {
    get stub() {
      return started();
    },
    get bench() {
      if (bench === undefined) throw new Error("no test is under way");
      return bench;
    },
    fetches() {
      const now = started().requests;
      const at = before ?? now;
      return {
        discovery: now.discovery - at.discovery,
        jwks: now.jwks - at.jwks,
        token: now.token - at.token,
        attacker: now.attacker - at.attacker,
      };
    },
  };
}
