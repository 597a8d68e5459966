// Threat: a clone signal that leaves no mark on the key. Under the tenant's `warn` policy an
// assertion whose counter did not grow is accepted, and the key suspected cloned from then
// (`cloneSuspectedAt`: it counts as not attested until its counter grows again). When another
// use of the key moved its counter between the re-read that found the signal and the
// compare-and-set that accepts it, the assertion is refused as `webauthn.concurrent_use` and its
// signal audited as `webauthn.clone_detected`, but the credential was left unsuspected: the
// administrator's view, and every decision after it, trusted a key the chain says may exist in
// two places, where under `reject` the same signal always marks it, and migration 0026, rebuilt
// from the chain, would mark it too. Every recorded signal now marks the credential, in the
// transaction of its audit event.
import { afterEach, expect, it } from "vitest";
import { openStore } from "../../storage/open-store.js";
import type { SoftAuthenticator } from "../../verifiers/webauthn/test-support/soft-authenticator.js";
import type { WebAuthnAuthenticatorView } from "../application.js";
import type { Repositories } from "../ports.js";
import { describeOnEachStore } from "../test-support/each-store.js";
import { pausingAfter } from "../test-support/forced-race.js";
import { openWebAuthnWorld, type WebAuthnWorld } from "../test-support/webauthn-world.js";
import { wrapRepositories } from "../test-support/wrapped-store.js";

const INITIAL_COUNT = 10;

describeOnEachStore("a WebAuthn clone signal lost to a concurrent use", (url) => {
  let w: WebAuthnWorld;
  /** Runs once, in the next transaction, right after it reads a credential. */
  let afterCredentialRead: ((r: Repositories) => Promise<void>) | undefined;
  afterEach(() => w.close());

  async function open(signCountPolicy: "warn" | "reject"): Promise<SoftAuthenticator> {
    const raw = await openStore(await url());
    const store = wrapRepositories(raw, (r) =>
      pausingAfter("webauthnCredentials", "get", async () => {
        const step = afterCredentialRead;
        afterCredentialRead = undefined;
        await step?.(r);
      })(r),
    );
    w = await openWebAuthnWorld({ store: { ...store, read: (work) => raw.read(work) } });
    await w.configure({ signCountPolicy });
    const key = w.authenticator({ initialSignCount: INITIAL_COUNT });
    await w.register(key, { name: "YubiKey" });
    return key;
  }

  /** alice's one credential as the administrator's list shows it. */
  async function listed(): Promise<WebAuthnAuthenticatorView> {
    const all = await w.h.app.authenticators.list(w.h.admin, "acme", "alice");
    const [view] = all.filter((a): a is WebAuthnAuthenticatorView => a.kind === "webauthn");
    if (view === undefined) throw new Error("alice has no WebAuthn credential");
    return view;
  }

  /**
   * Authenticates with a counter that did not grow, while another use of the key, accepted in
   * between, moves its counter past the one the signal was judged against: the refusal's code.
   */
  async function signalLostToAnotherUse(key: SoftAuthenticator): Promise<string> {
    const { id } = await listed();
    afterCredentialRead = async (r) => {
      const next = INITIAL_COUNT + 2;
      const moved = await r.webauthnCredentials.acceptAssertion(
        "acme",
        "alice",
        id,
        { expected: INITIAL_COUNT, next },
        false,
        w.h.clock.now().toISOString(),
      );
      if (!moved) throw new Error("the other use did not move the counter");
    };
    return w.codeOf(w.authenticate(key, { knobs: { signCount: 4 } }));
  }

  for (const policy of ["warn", "reject"] as const) {
    it(`marks the credential suspected cloned, as it audits the signal, under \`${policy}\``, async () => {
      const key = await open(policy);
      w.h.clock.advance(60);
      const signalAt = w.h.clock.now().toISOString();
      expect(await signalLostToAnotherUse(key)).toBe(
        policy === "warn" ? "webauthn.concurrent_use" : "webauthn.clone_detected",
      );
      expect(afterCredentialRead).toBeUndefined();
      const clones = (await w.audit()).filter((e) => e.type === "webauthn.clone_detected");
      expect(clones).toHaveLength(1);
      expect(clones[0]?.payload).toMatchObject({ receivedSignCount: 4, policy });
      expect(await listed()).toMatchObject({ cloneSuspectedAt: signalAt });
    });
  }

  it("clears the mark at the key's next verification whose counter grows", async () => {
    const key = await open("warn");
    await signalLostToAnotherUse(key);
    await w.authenticate(key, { knobs: { signCount: INITIAL_COUNT + 3 } });
    expect(await listed()).toMatchObject({ cloneSuspectedAt: null });
  });
});
