// Threat: a response replayed, answered late, or answering another challenge (WebAuthn §13.4.3,
// checklist W1). Challenges are 32 random bytes kept server-side, bound to tenant, principal and
// purpose, consumed by one atomic delete whatever the outcome: a second use, a use after the
// 5-minute TTL (fixed clock), a challenge of another principal or purpose are refused.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openWebAuthnWorld, type WebAuthnWorld } from "../test-support/webauthn-world.js";

let w: WebAuthnWorld;
beforeEach(async () => {
  w = await openWebAuthnWorld();
});
afterEach(() => w.close());

const finish = (
  world: WebAuthnWorld,
  authentication: string,
  response: unknown,
  principal = "alice",
) =>
  world.h.app.webauthn.finishAuthentication(world.service.acme, "acme", principal, authentication, {
    response,
  });

describe("challenge binding", () => {
  it("refuses an assertion over another challenge", async () => {
    const key = w.authenticator();
    await w.register(key);
    const knobs = { challenge: Buffer.alloc(32, 7).toString("base64url") };
    expect(await w.codeOf(w.authenticate(key, { knobs }))).toBe("webauthn.challenge_mismatch");
  });

  it("refuses a replayed assertion: the challenge was used", async () => {
    const key = w.authenticator();
    await w.register(key);
    const begun = await w.h.app.webauthn.beginAuthentication(w.service.acme, "acme", "alice");
    const response = key.authenticate(begun.options);
    await finish(w, begun.authentication, response);
    expect(await w.codeOf(finish(w, begun.authentication, response))).toBe(
      "webauthn.challenge_unknown",
    );
  });

  it("lets exactly one of concurrent finishes of one ceremony through", async () => {
    const key = w.authenticator();
    await w.register(key);
    const begun = await w.h.app.webauthn.beginAuthentication(w.service.acme, "acme", "alice");
    const response = key.authenticate(begun.options);
    const codes = await Promise.all(
      [0, 1, 2, 3].map(() => w.codeOf(finish(w, begun.authentication, response))),
    );
    expect(codes.sort()).toEqual([
      "ok",
      "webauthn.challenge_unknown",
      "webauthn.challenge_unknown",
      "webauthn.challenge_unknown",
    ]);
  });

  it("refuses a failed ceremony's challenge too: one try per challenge", async () => {
    const key = w.authenticator();
    await w.register(key);
    const begun = await w.h.app.webauthn.beginAuthentication(w.service.acme, "acme", "alice");
    await w.codeOf(finish(w, begun.authentication, key.authenticate(begun.options, { uv: false })));
    expect(await w.codeOf(finish(w, begun.authentication, key.authenticate(begun.options)))).toBe(
      "webauthn.challenge_unknown",
    );
  });

  it("refuses an assertion after the TTL (fixed clock), accepts one just before", async () => {
    const key = w.authenticator();
    await w.register(key);
    const late = await w.h.app.webauthn.beginAuthentication(w.service.acme, "acme", "alice");
    const lateResponse = key.authenticate(late.options);
    w.h.clock.advance(299);
    const inTime = await w.h.app.webauthn.beginAuthentication(w.service.acme, "acme", "alice");
    w.h.clock.advance(1);
    expect(await w.codeOf(finish(w, late.authentication, lateResponse))).toBe(
      "webauthn.challenge_expired",
    );
    // Expired, it was consumed all the same.
    expect(await w.codeOf(finish(w, late.authentication, lateResponse))).toBe(
      "webauthn.challenge_unknown",
    );
    w.h.clock.advance(298);
    expect(await w.codeOf(finish(w, inTime.authentication, key.authenticate(inTime.options)))).toBe(
      "ok",
    );
  });

  it("refuses a registration that arrives after the TTL", async () => {
    const begun = await w.h.app.webauthn.beginRegistration(w.service.acme, "acme", "alice");
    w.h.clock.advance(300);
    const answer = w.h.app.webauthn.finishRegistration(
      w.service.acme,
      "acme",
      "alice",
      begun.registration,
      { response: w.authenticator().register(begun.options) },
    );
    expect(await w.codeOf(answer)).toBe("webauthn.challenge_expired");
    expect(await w.h.app.authenticators.list(w.service.acme, "acme", "alice")).toEqual([]);
  });

  it("refuses another principal's ceremony, and a registration ceremony used to authenticate", async () => {
    const key = w.authenticator();
    await w.register(key);
    await w.register(key, { principal: "bob" });
    const bobs = await w.h.app.webauthn.beginAuthentication(w.service.acme, "acme", "bob");
    expect(await w.codeOf(finish(w, bobs.authentication, key.authenticate(bobs.options)))).toBe(
      "webauthn.challenge_unknown",
    );
    // Bob's ceremony was left alone: bob still completes it.
    expect(
      await w.codeOf(finish(w, bobs.authentication, key.authenticate(bobs.options), "bob")),
    ).toBe("ok");
    const registration = await w.h.app.webauthn.beginRegistration(w.service.acme, "acme", "alice");
    const response = key.authenticate({ ...registration.options, allowCredentials: [] });
    expect(await w.codeOf(finish(w, registration.registration, response))).toBe(
      "webauthn.challenge_unknown",
    );
  });

  it("refuses a ceremony id of another tenant", async () => {
    const key = w.authenticator();
    await w.register(key, { tenant: "globex" });
    await w.register(key);
    const globex = await w.h.app.webauthn.beginAuthentication(w.service.globex, "globex", "alice");
    expect(await w.codeOf(finish(w, globex.authentication, key.authenticate(globex.options)))).toBe(
      "webauthn.challenge_unknown",
    );
  });
});
