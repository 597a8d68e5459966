/**
 * Threat: the key-set refetch cooldown bypassed by cache churn (checklist O12: a `kid` flood
 * costs the IdP at most one fetch per 30 s). The key sets are held within `cacheMaxBytes`, least
 * recently used issuer out first; a tenant administrator registering large issuers (some 130 at
 * the 256 KiB limit fill the default 32 MiB) pushes other issuers out. If the cooldown left with
 * the cached set, each push would buy one more fetch at the victim IdP for tokens with invented
 * `kid`s, and an issuer left out would be fetched again at once. The last fetch of each issuer is
 * kept apart from the cache, for as long as its cooldown lasts, so an issuer's key set is fetched
 * at most once per cooldown whether or not it is still cached.
 */
import { describe, expect, it } from "vitest";
import type { OidcIdpSettings } from "../../app/federation/protocols.js";
import { useManyIssuers } from "./test-support/many-issuers.js";
import type { StubKey } from "./test-support/stub-idp.js";

const COOLDOWN_MS = 30_000;

const issuers = useManyIssuers();
const { newIssuers, fetchesAt, signIn } = issuers;

/**
 * Signs in at five issuers not met before, which leaves every issuer used before them out of
 * the caches (the victim's discovery document too: the tests see it fetched again at its next
 * sign-in). New ones each time, as an attacker would register: those pushed out are within their
 * own cooldowns too.
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

describe("the key-set refetch cooldown of an issuer pushed out of the cache", () => {
  it("holds against a flood of invented kids sent between pushes: one fetch per cooldown", async () => {
    const victim = newVictim();
    expect((await signIn(victim)).ok).toBe(true);
    expect(fetchesAt(victim).jwks).toBe(1);
    issuers.bench.clock.now += COOLDOWN_MS;

    const invented: StubKey[] = [];
    for (let round = 0; round < 4; round += 1) {
      invented.push(await issuers.stub.newKey(`invented-${String(round)}`));
    }
    for (const key of invented) {
      expect((await signIn(victim, key)).ok).toBe(false);
      await pushOut();
      issuers.bench.clock.now += 1_000;
    }
    // The first invented kid fetched the set again; every later one came after the victim was
    // pushed out (its discovery fetched again each time), within the cooldown of that fetch.
    expect(fetchesAt(victim)).toEqual({ discovery: 4, jwks: 2 });

    issuers.bench.clock.now += COOLDOWN_MS;
    expect((await signIn(victim)).ok).toBe(true);
    expect(fetchesAt(victim).jwks).toBe(3);
  });

  it("does not fetch the key set again within the cooldown of its last fetch, and fails closed meanwhile", async () => {
    const victim = newVictim();
    expect((await signIn(victim)).ok).toBe(true);
    await pushOut();

    issuers.bench.clock.now += COOLDOWN_MS - 1_000;
    expect(await signIn(victim)).toMatchObject({
      ok: false,
      rejection: { code: "oidc.jwks_unavailable" },
    });
    expect(fetchesAt(victim)).toEqual({ discovery: 2, jwks: 1 });

    issuers.bench.clock.now += 1_000;
    expect((await signIn(victim)).ok).toBe(true);
    expect(fetchesAt(victim).jwks).toBe(2);
  });

  it("keeps a failed fetch's cooldown after the issuer was pushed out", async () => {
    const victim = newVictim();
    issuers.stub.jwksMode = "down";
    expect(await signIn(victim)).toMatchObject({
      ok: false,
      rejection: { code: "oidc.jwks_unavailable" },
    });
    issuers.stub.jwksMode = "up";
    await pushOut();

    issuers.bench.clock.now += COOLDOWN_MS - 1_000;
    expect(await signIn(victim)).toMatchObject({
      ok: false,
      rejection: { code: "oidc.jwks_unavailable" },
    });
    expect(fetchesAt(victim)).toEqual({ discovery: 2, jwks: 1 });
  });

  it("still fetches at once for a registration version not served yet, and only once", async () => {
    const victim = newVictim();
    const registration = (version: number) => ({
      id: JSON.stringify(["acme", "corp"]),
      version,
    });
    expect((await signIn(victim, undefined, registration(1))).ok).toBe(true);
    await pushOut();

    expect((await signIn(victim, undefined, registration(1))).ok).toBe(false);
    expect(fetchesAt(victim)).toEqual({ discovery: 2, jwks: 1 });
    // The tenant registered its IdP again: what was fetched before may hold a withdrawn key.
    expect((await signIn(victim, undefined, registration(2))).ok).toBe(true);
    await pushOut();
    expect((await signIn(victim, undefined, registration(2))).ok).toBe(false);
    expect(fetchesAt(victim)).toEqual({ discovery: 4, jwks: 2 });
  });
});
