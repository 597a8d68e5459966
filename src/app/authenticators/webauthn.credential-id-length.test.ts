// Threat: a registration whose credential id is longer than WebAuthn allows. WebAuthn L3 §7.1
// (registering a new credential) fails the ceremony when credentialId is over 1023 bytes; the
// authenticator data can carry up to 65 535. Taken as it came, such an id either breaks the
// store (PostgreSQL's B-tree entry limit: a 503 for what is bad input) or registers a passkey
// that can never sign in (its id is longer than an assertion's request may carry) yet counts as
// a method, so that the principal's last usable one can be removed beside it. It is refused as
// `webauthn.malformed_response` before anything is stored, on either store.
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { SoftAuthenticator } from "../../verifiers/webauthn/test-support/soft-authenticator.js";
import { provedMfaJustNow } from "../test-support/fresh-mfa.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";
import { outcomeOf } from "../test-support/totp-principals.js";
import {
  openWebAuthnWorld,
  TEST_ORIGIN,
  type WebAuthnWorld,
} from "../test-support/webauthn-world.js";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

/** A credential id of `bytes` random bytes, as the response carries it (base64url). */
const idOf = (bytes: number) => randomBytes(bytes).toString("base64url");

describe("a WebAuthn registration's credential id", () => {
  let w: WebAuthnWorld;
  beforeEach(async () => {
    w = await openWebAuthnWorld();
  });
  afterEach(() => w.close());

  it("registers at 1023 bytes, which then signs in", async () => {
    const key = w.authenticator();
    const view = await w.register(key, { knobs: { credentialId: idOf(1023) } });
    expect(Buffer.from(view.credentialId, "base64url")).toHaveLength(1023);
    expect(await w.codeOf(w.authenticate(key))).toBe("ok");
  });

  it("is refused as webauthn.malformed_response over 1023 bytes, storing nothing", async () => {
    for (const bytes of [1024, 2000, 8000]) {
      const code = await w.codeOf(
        w.register(w.authenticator(), { knobs: { credentialId: idOf(bytes) } }),
      );
      expect({ bytes, code }).toEqual({ bytes, code: "webauthn.malformed_response" });
    }
    expect(await w.h.app.authenticators.list(w.service.acme, "acme", "alice")).toEqual([]);
    const failures = (await w.audit()).filter((e) => e.type === "webauthn.registration_failed");
    expect(failures.map((e) => e.payload.reason)).toEqual([
      "webauthn.malformed_response",
      "webauthn.malformed_response",
      "webauthn.malformed_response",
    ]);
  });

  it("over 1023 bytes leaves no unusable passkey beside which the last usable one could go", async () => {
    const usable = await w.register(w.authenticator());
    await w.codeOf(w.register(w.authenticator(), { knobs: { credentialId: idOf(2000) } }));
    await provedMfaJustNow(w.h, "acme", "alice");
    expect(
      await w.codeOf(w.h.app.authenticators.remove(w.service.acme, "acme", "alice", usable.id)),
    ).toBe("authenticator.last_method");
  });
});

describeOnPostgres(
  {
    title: "A WebAuthn registration's credential id on PostgreSQL",
    skippedTitle: "A WebAuthn registration's credential id on PostgreSQL",
    tests: "credential id length tests on PostgreSQL",
  },
  () => {
    let two: TwoInstances | undefined;
    beforeAll(async () => {
      two = await openTwoInstances({ principals: ["alice"] });
    });
    afterAll(async () => {
      await two?.close();
    });

    it("is refused as webauthn.malformed_response over 1023 bytes, not as a store outage", async () => {
      if (two === undefined) throw new Error("no instances");
      const { first, service } = two;
      const outcomes: string[] = [];
      for (const bytes of [1024, 8000]) {
        await provedMfaJustNow(first, "acme", "alice");
        const begun = await first.app.webauthn.beginRegistration(service, "acme", "alice");
        const response = new SoftAuthenticator({ origin: TEST_ORIGIN }).register(begun.options, {
          credentialId: idOf(bytes),
        });
        const finished = await outcomeOf(
          first.app.webauthn.finishRegistration(service, "acme", "alice", begun.registration, {
            response,
          }),
        );
        outcomes.push(finished.code);
      }
      expect(outcomes).toEqual(["webauthn.malformed_response", "webauthn.malformed_response"]);
    });
  },
);
