/**
 * Threat: memory that grows without bound with the issuers signed in through. The relying party
 * caches each issuer's discovery document and key set (up to 256 KiB each) for the process, and
 * a tenant administrator (of any tenant) may register ever new issuers, or one IdP's
 * registration point at many over time: without eviction every issuer ever met stays in memory.
 * The caches hold at most `cacheMaxBytes` of fetched bodies together, the least recently used
 * issuer leaving first, and an issuer left out is fetched again at its next sign-in, through
 * every usual check (at most a second's wait, jwks.cooldown-past-eviction.test.ts).
 */
import { describe, expect, it } from "vitest";
import type { OidcIdpSettings } from "../../app/federation/protocols.js";
import {
  MANY_ISSUERS_CACHE_MAX_BYTES as MAX_BYTES,
  useManyIssuers,
} from "./test-support/many-issuers.js";

const issuers = useManyIssuers();
const { newIssuers, fetchesAt } = issuers;
const signIn = (idp: OidcIdpSettings) => issuers.signIn(idp);

describe("the OIDC caches over many issuers", () => {
  it("hold at most cacheMaxBytes of discovery documents and key sets, however many issuers sign in", async () => {
    for (const idp of newIssuers(12)) {
      expect((await signIn(idp)).ok).toBe(true);
      expect(issuers.bench.rp.cachedBytes()).toBeLessThanOrEqual(MAX_BYTES);
    }
    expect(issuers.bench.rp.cachedBytes()).toBeGreaterThan(3 * 240 * 1024);
  });

  it("fetch the discovery document and key set of an issuer left out again at its next sign-in", async () => {
    const [first, ...others] = newIssuers(5);
    if (first === undefined) throw new Error("no issuer");
    expect((await signIn(first)).ok).toBe(true);
    for (const idp of others) expect((await signIn(idp)).ok).toBe(true);
    expect(fetchesAt(first)).toEqual({ discovery: 1, jwks: 1 });

    expect((await signIn(first)).ok).toBe(true);
    expect(fetchesAt(first)).toEqual({ discovery: 2, jwks: 2 });
  });

  it("keep the most recently used issuers, and leave out the least recently used one", async () => {
    const [a, b, c, d, e] = newIssuers(5);
    if (a === undefined || b === undefined || c === undefined || d === undefined || e === undefined)
      throw new Error("no issuer");
    for (const idp of [a, b, c, d]) expect((await signIn(idp)).ok).toBe(true);
    // a is used again, from its cache; b is now the least recently used.
    expect((await signIn(a)).ok).toBe(true);
    expect((await signIn(e)).ok).toBe(true);

    for (const idp of [a, c, d, e]) {
      expect((await signIn(idp)).ok).toBe(true);
      expect(fetchesAt(idp)).toEqual({ discovery: 1, jwks: 1 });
    }
    expect((await signIn(b)).ok).toBe(true);
    expect(fetchesAt(b)).toEqual({ discovery: 2, jwks: 2 });
  });

  it("fail closed for an issuer left out whose key set cannot be fetched again, and keep its cooldown", async () => {
    const [first, ...others] = newIssuers(5);
    if (first === undefined) throw new Error("no issuer");
    for (const idp of [first, ...others]) expect((await signIn(idp)).ok).toBe(true);
    issuers.stub.jwksMode = "down";

    const refused = await signIn(first);
    expect(refused).toMatchObject({ ok: false, rejection: { code: "oidc.jwks_unavailable" } });
    expect(await signIn(first)).toMatchObject({
      ok: false,
      rejection: { code: "oidc.jwks_unavailable" },
    });
    // Left out, it was fetched again once; the failure's cooldown then held the next sign-in.
    expect(fetchesAt(first).jwks).toBe(2);
  });

  it("fetch an issuer left out again for a new version of its registration, once", async () => {
    const [first, ...others] = newIssuers(5);
    if (first === undefined) throw new Error("no issuer");
    const registered = (version: number): OidcIdpSettings => ({
      ...first,
      registration: { id: JSON.stringify(["acme", "corp"]), version },
    });
    expect((await signIn(registered(1))).ok).toBe(true);
    for (const idp of others) expect((await signIn(idp)).ok).toBe(true);

    expect((await signIn(registered(1))).ok).toBe(true);
    expect((await signIn(registered(2))).ok).toBe(true);
    expect((await signIn(registered(2))).ok).toBe(true);
    expect(fetchesAt(first)).toEqual({ discovery: 3, jwks: 3 });
  });
});
