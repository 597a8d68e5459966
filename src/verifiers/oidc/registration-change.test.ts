/**
 * Threat: a tenant whose IdP's signing key leaked has the IdP remove it, then registers the IdP
 * again (a new version of its registration) to stop trusting what it signed; or its IdP's
 * discovery document changed and the tenant registers again to take it up. The discovery
 * document (an hour) and the key set (ten minutes) are cached per issuer for the process: a
 * registration change must not leave them serving what was fetched before it, on this instance
 * or any other, while the same registration keeps its caches.
 */
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { OidcIdpSettings } from "../../app/federation/protocols.js";
import type { FetchLike } from "./fetch-json.js";
import { createAttackBench, validClaims, type AttackBench } from "./test-support/attack-fixture.js";
import { useCountedStub } from "./test-support/counted-stub.js";
import type { StubIdp } from "./test-support/stub-idp.js";

const counted = useCountedStub();
let stub: StubIdp;
let bench: AttackBench;
beforeEach(() => {
  ({ stub, bench } = counted);
});
const fetches = () => counted.fetches();

/** The stub's IdP as the tenant `acme` registered it, at `version`. */
const registered = (version: number, tenant = "acme"): OidcIdpSettings => ({
  ...stub.idp,
  registration: { id: JSON.stringify([tenant, "corp"]), version },
});

describe("a registration change of an OIDC IdP", () => {
  it("stops a key the IdP removed from verifying at the next sign-in, not when the cached set ages out", async () => {
    const leaked = await stub.sign(validClaims(stub));
    expect((await bench.present(leaked, {}, registered(1))).ok).toBe(true);
    // The IdP withdraws the leaked key; the same registration keeps its cached set (the
    // documented ten minutes), so this is what the registration change alone must end.
    stub.publishedKeys = [];
    expect((await bench.present(leaked, {}, registered(1))).ok).toBe(true);
    expect(fetches().jwks).toBe(1);

    const result = await bench.present(leaked, {}, registered(2));
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.key_unknown" } });
    expect(fetches().jwks).toBe(2);
  });

  it("fetches the key set again for a registration this instance has not seen yet, once", async () => {
    const token = await stub.sign(validClaims(stub));
    expect((await bench.present(token, {}, registered(1, "other"))).ok).toBe(true);
    stub.publishedKeys = [];
    // Another tenant's registration of the same issuer, or one made on another instance after
    // the set was fetched: what this instance cached may predate it.
    const result = await bench.present(token, {}, registered(3));
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.key_unknown" } });
    const next = await stub.newKey("stub-key-2");
    stub.publishedKeys = [next.publicJwk];
    bench.clock.now += 31_000;
    const signed = await stub.sign(validClaims(stub), {}, next);
    expect((await bench.present(signed, {}, registered(3))).ok).toBe(true);
    expect((await bench.present(signed, {}, registered(3))).ok).toBe(true);
    expect(fetches().jwks).toBe(3);
  });

  it("does not serve a new version the key set of a fetch started before it was met", async () => {
    // The first key-set answer is held once received: it lists the key the IdP then withdraws.
    let received: () => void = () => undefined;
    const answered = new Promise<void>((resolve) => {
      received = resolve;
    });
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let held = false;
    const fetch: FetchLike = async (input, init) => {
      const response = await globalThis.fetch(input, init);
      if (!held && input.endsWith("/jwks")) {
        held = true;
        received();
        await released;
      }
      return response;
    };
    const slow = createAttackBench(stub, { fetch });
    const leaked = await stub.sign(validClaims(stub));
    const first = slow.present(leaked, {}, registered(1));
    await answered;
    stub.publishedKeys = [];
    const tokens = stub.requests.token;
    const second = slow.present(leaked, {}, registered(2));
    // The second sign-in has its ID token, and asks for keys while the first fetch is held.
    await vi.waitFor(() => {
      expect(stub.requests.token).toBe(tokens + 1);
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    release();
    expect((await first).ok).toBe(true);
    expect(await second).toMatchObject({ ok: false, rejection: { code: "oidc.key_unknown" } });
    expect(fetches().jwks).toBe(2);
  });

  it("reads the IdP's discovery document again, which an unchanged registration keeps for its hour", async () => {
    const token = await stub.sign(validClaims(stub));
    expect((await bench.present(token, {}, registered(1))).ok).toBe(true);
    // The IdP moved its keys; the document cached before still names the old place.
    stub.discoveryOverrides = { jwks_uri: `${stub.origin}/tenant-a/moved-jwks` };
    expect((await bench.present(token, {}, registered(1))).ok).toBe(true);
    expect(fetches().discovery).toBe(1);

    const result = await bench.present(token, {}, registered(2));
    expect(fetches().discovery).toBe(2);
    // The new document's key set is not found on the stub: its place was read from it.
    expect(result).toMatchObject({ ok: false, rejection: { code: "oidc.jwks_unavailable" } });
  });

  it("starts a sign-in with the document read again after the change", async () => {
    const options = {
      redirectUri: stub.redirectUri,
      state: "s",
      nonce: "n",
      codeVerifier: "v".repeat(43),
      acrValues: [],
      forceLogin: false,
    };
    const first = await bench.rp.authorizationUrl(registered(1), options);
    expect(first.ok && first.value.startsWith(`${stub.issuer}/authorize?`)).toBe(true);
    stub.discoveryOverrides = { authorization_endpoint: `${stub.origin}/tenant-a/login` };
    const next = await bench.rp.authorizationUrl(registered(2), options);
    expect(next.ok && next.value.startsWith(`${stub.origin}/tenant-a/login?`)).toBe(true);
    expect(fetches().discovery).toBe(2);
  });
});
