/**
 * Threat: cache churn turned against another tenant's issuer. The key sets are held within
 * `cacheMaxBytes`, least recently used issuer out first, and a tenant administrator registering
 * large issuers (some 130 at the 256 KiB limit fill the default 32 MiB) pushes other tenants'
 * issuers out as often as it likes. Three ways that could hurt the issuer pushed out:
 * - its users refused until some cooldown is over (a cross-tenant outage, repeated at will):
 *   an issuer not cached is fetched at its next sign-in, never refused for a cooldown;
 * - its IdP fetched once per push: fetches of an issuer not cached are spaced
 *   `COLD_FETCH_SPACING_MS` (1 s) apart, a sign-in sooner waits out the rest, and sign-ins
 *   meanwhile share the one fetch;
 * - a flood of invented `kid`s given a fresh refetch by each push (checklist O12: at most one
 *   fetch per 30 s): the last fetch of each issuer is kept apart from the cache, so the cooldown
 *   of an unknown `kid`'s refetch runs from it whether or not the set stayed cached.
 */
import { describe, expect, it } from "vitest";
import type { OidcIdpSettings } from "../../app/federation/protocols.js";
import { CacheBudget } from "./cache-budget.js";
import { COLD_FETCH_SPACING_MS, createKeySets } from "./jwks.js";
import { validClaims } from "./test-support/attack-fixture.js";
import {
  MANY_ISSUERS_CACHE_MAX_BYTES as MAX_BYTES,
  useManyIssuers,
} from "./test-support/many-issuers.js";
import type { StubKey } from "./test-support/stub-idp.js";

const COOLDOWN_MS = 30_000;

const issuers = useManyIssuers();
const { newIssuers, fetchesAt, signIn } = issuers;

/**
 * Signs in at five issuers not met before, which leaves every issuer used before them out of
 * the caches (the victim's discovery document too: the tests see it fetched again at its next
 * sign-in). New ones each time, as an attacker would register.
 */
async function pushOut(): Promise<void> {
  for (const idp of newIssuers(5)) expect((await signIn(idp)).ok).toBe(true);
}

/** The issuer under attack. */
function newVictim(): OidcIdpSettings {
  const [victim] = newIssuers(1);
  if (victim === undefined) throw new Error("no issuer");
  return victim;
}

const refused = (code: string) => ({ ok: false, rejection: { code } });

describe("an issuer pushed out of the cache within the cooldown of its key set's fetch", () => {
  it("signs in at its next sign-in, its key set fetched again", async () => {
    const victim = newVictim();
    expect((await signIn(victim)).ok).toBe(true);
    await pushOut();

    issuers.bench.clock.now += COLD_FETCH_SPACING_MS;
    expect((await signIn(victim)).ok).toBe(true);
    expect(fetchesAt(victim)).toEqual({ discovery: 2, jwks: 2 });
  });

  it("waits out the rest of the spacing after its last fetch, then signs in", async () => {
    const victim = newVictim();
    expect((await signIn(victim)).ok).toBe(true);
    await pushOut();

    // The relying party's clock has not moved since the victim's fetch: the whole spacing is
    // waited, on the timers, and no more.
    const started = performance.now();
    expect((await signIn(victim)).ok).toBe(true);
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(COLD_FETCH_SPACING_MS - 50);
    expect(waited).toBeLessThan(COLD_FETCH_SPACING_MS + 2_000);
    expect(fetchesAt(victim).jwks).toBe(2);
  });

  it("shares one fetch among the sign-ins waiting for it", async () => {
    const victim = newVictim();
    expect((await signIn(victim)).ok).toBe(true);
    await pushOut();

    issuers.bench.clock.now += COLD_FETCH_SPACING_MS / 2;
    const token = await issuers.stub.sign({ ...validClaims(issuers.stub), iss: victim.issuer });
    const results = await Promise.all(
      Array.from({ length: 4 }, () => issuers.bench.present(token, {}, victim)),
    );
    for (const result of results) expect(result.ok).toBe(true);
    expect(fetchesAt(victim).jwks).toBe(2);
  });

  it("forgets a failed fetch with its cache entry: fetched again, not refused for the cooldown", async () => {
    const victim = newVictim();
    issuers.stub.jwksMode = "down";
    expect(await signIn(victim)).toMatchObject(refused("oidc.jwks_unavailable"));
    // While the failure is cached, the IdP is not asked again before the cooldown.
    expect(await signIn(victim)).toMatchObject(refused("oidc.jwks_unavailable"));
    expect(fetchesAt(victim).jwks).toBe(1);
    issuers.stub.jwksMode = "up";
    await pushOut();

    issuers.bench.clock.now += COLD_FETCH_SPACING_MS;
    expect((await signIn(victim)).ok).toBe(true);
    expect(fetchesAt(victim).jwks).toBe(2);
  });
});

describe("the key-set refetch cooldown of an issuer pushed out of the cache", () => {
  it("gives a flood of invented kids after the fetch that brought it back no fetch until the cooldown is over", async () => {
    const victim = newVictim();
    expect((await signIn(victim)).ok).toBe(true);
    issuers.bench.clock.now += COOLDOWN_MS;
    await pushOut();
    expect((await signIn(victim)).ok).toBe(true);
    expect(fetchesAt(victim).jwks).toBe(2);

    const invented: StubKey[] = [];
    for (let round = 0; round < 4; round += 1) {
      invented.push(await issuers.stub.newKey(`invented-${String(round)}`));
    }
    for (const key of invented) {
      expect(await signIn(victim, key)).toMatchObject(refused("oidc.key_unknown"));
      issuers.bench.clock.now += 7_000;
    }
    expect(fetchesAt(victim).jwks).toBe(2);

    // 30 s after the fetch that brought the victim back, one more for an unknown kid.
    issuers.bench.clock.now += COOLDOWN_MS - 4 * 7_000;
    const [late] = invented;
    if (late === undefined) throw new Error("no key");
    expect(await signIn(victim, late)).toMatchObject(refused("oidc.key_unknown"));
    expect(fetchesAt(victim).jwks).toBe(3);
  });

  it("holds for an issuer pushed out between its sign-ins: its own key still signs in, invented kids fetch nothing more", async () => {
    const victim = newVictim();
    expect((await signIn(victim)).ok).toBe(true);
    issuers.bench.clock.now += COOLDOWN_MS;
    expect(await signIn(victim, await issuers.stub.newKey("invented"))).toMatchObject(
      refused("oidc.key_unknown"),
    );
    expect(fetchesAt(victim).jwks).toBe(2);
    await pushOut();

    issuers.bench.clock.now += COLD_FETCH_SPACING_MS;
    expect((await signIn(victim)).ok).toBe(true);
    expect(await signIn(victim, await issuers.stub.newKey("invented-after"))).toMatchObject(
      refused("oidc.key_unknown"),
    );
    expect(fetchesAt(victim).jwks).toBe(3);
  });
});

describe("cache churn against one issuer, on the real clock and timers", () => {
  it("costs its IdP at most one key-set fetch a second, and refuses none of its sign-ins", async () => {
    const { stub } = issuers;
    const keySets = createKeySets({
      fetch: (url, init) => fetch(url, init),
      timeoutMs: 5_000,
      maxAgeMs: 600_000,
      cooldownMs: COOLDOWN_MS,
      clock: Date.now,
      budget: new CacheBudget(MAX_BYTES),
    });
    const keysAt = (idp: OidcIdpSettings) =>
      keySets.keysFor(idp.issuer, `${idp.issuer}/jwks`, { alg: "RS256", kid: stub.key.kid });
    const victim = newVictim();
    const started = Date.now();
    expect((await keysAt(victim)).ok).toBe(true);

    const until = started + 3_000;
    let pushes = 0;
    const attacker = async () => {
      while (Date.now() < until) {
        for (const idp of newIssuers(5)) expect((await keysAt(idp)).ok).toBe(true);
        pushes += 1;
      }
    };
    let signIns = 0;
    const victimUsers = async () => {
      while (Date.now() < until) {
        const results = await Promise.all([keysAt(victim), keysAt(victim)]);
        for (const result of results) expect(result.ok).toBe(true);
        signIns += results.length;
        // A cached set answers without I/O: a pause lets the attacker's fetches run between.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    await Promise.all([attacker(), victimUsers()]);
    const seconds = (Date.now() - started) / 1_000;

    const { jwks } = fetchesAt(victim);
    // Pushed out again and again, and fetched again: but at most once a second.
    expect(pushes).toBeGreaterThan(jwks);
    expect(jwks).toBeGreaterThanOrEqual(2);
    expect(jwks).toBeLessThanOrEqual(Math.floor(seconds) + 1);
    expect(signIns).toBeGreaterThan(jwks);
  });
});
