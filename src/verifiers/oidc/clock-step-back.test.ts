/**
 * Threat: the host's clock steps back (an NTP correction, a virtual machine restored or moved).
 * An entry's age, now minus when it was fetched, is then negative: read as young, a key set
 * would serve past its ten minutes (a key the IdP removed verifying for as long as the step), a
 * discovery document past its hour, and a failed fetch would hold off the next one for as long
 * (every sign-in at the IdP refused). An age below zero is unknown, so the entry is stale, as
 * the application's own caches take it.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { validClaims, type AttackBench } from "./test-support/attack-fixture.js";
import { useCountedStub } from "./test-support/counted-stub.js";
import type { StubIdp } from "./test-support/stub-idp.js";

const HOUR = 3_600_000;

const counted = useCountedStub();
let stub: StubIdp;
let bench: AttackBench;
beforeEach(() => {
  ({ stub, bench } = counted);
});
const fetches = () => counted.fetches();

describe("the OIDC caches after the clock steps back", () => {
  it("stop a key the IdP removed from verifying past the set's ten minutes", async () => {
    const token = await stub.sign(validClaims(stub));
    expect((await bench.present(token)).ok).toBe(true);
    stub.publishedKeys = [];
    bench.clock.now -= HOUR;
    // Half an hour after the key's removal, by any clock that did not step.
    bench.clock.now += 30 * 60_000;
    const result = await bench.present(token);
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.key_unknown" } });
    expect(fetches().jwks).toBe(2);
  });

  it("ask a JWKS endpoint that failed again after the cooldown", async () => {
    stub.jwksMode = "down";
    const token = await stub.sign(validClaims(stub));
    expect(await bench.present(token)).toMatchObject({
      ok: false,
      rejection: { code: "oidc.jwks_unavailable" },
    });
    stub.jwksMode = "up";
    bench.clock.now -= HOUR;
    bench.clock.now += 31_000;
    expect((await bench.present(token)).ok).toBe(true);
    expect(fetches().jwks).toBe(2);
  });

  it("read the discovery document again", async () => {
    const token = await stub.sign(validClaims(stub));
    expect((await bench.present(token)).ok).toBe(true);
    bench.clock.now -= 3 * HOUR;
    expect((await bench.present(token)).ok).toBe(true);
    expect(fetches().discovery).toBe(2);
  });

  it("let a page start discovery again after one failed", async () => {
    stub.discoveryOverrides = { issuer: "https://elsewhere.example" };
    expect(await bench.rp.authorizationEndpoint(stub.issuer)).toBeUndefined();
    stub.discoveryOverrides = {};
    bench.clock.now -= HOUR;
    bench.clock.now += 61_000;
    expect(await bench.rp.authorizationEndpoint(stub.issuer)).toBe(`${stub.issuer}/authorize`);
    expect(fetches().discovery).toBe(2);
  });
});
