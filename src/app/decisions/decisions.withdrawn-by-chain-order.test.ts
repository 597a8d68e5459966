// Threat: instances whose clocks disagree. Once an authenticator of a principal is removed, a
// verification made before must no longer count in a decision (a lost phone's TOTP event kept
// in a session), and one made after must. Compared by time, a verification recorded before the
// removal on an instance whose clock runs ahead of the removing one's counted, and one recorded
// after it on an instance whose clock runs behind was refused. Now the principal keeps where the
// removal's audit event stands in the tenant's chain, and a verification is before or after it by
// its own event's place there: appends to one chain are serialised, so that order is the order
// in which they committed, whatever the clocks. Two applications over one store (a SQLite file,
// a PostgreSQL database), each with its own clock.
import { afterEach, expect, it } from "vitest";
import type { AuthenticationEvent } from "../../core/evidence.js";
import { openStore } from "../../storage/open-store.js";
import type { Application, Caller } from "../application.js";
import { describeOnEachStore } from "../test-support/each-store.js";
import { tamperStore } from "../test-support/tampered-world.js";
import { CountingRandom, ManualClock, openHarness, type Harness } from "../test-support/harness.js";
import {
  enrolTotp,
  outcomeOf,
  rightCode,
  type EnrolledTotp,
} from "../test-support/totp-principals.js";

/** An hour: far beyond any drift a same-millisecond tie or a test's steps could explain. */
const HOUR = 3600;

interface TwoClocks {
  /** The instance that removes the authenticator, with its own clock and administrator. */
  readonly withdrawing: Harness;
  /** The instance that verifies and decides, over the same database, with another clock. */
  readonly verifying: Harness;
  readonly service: Caller;
  readonly main: EnrolledTotp;
  readonly spare: EnrolledTotp;
  /** A TOTP verification of alice's `main` on the verifying instance, a step later. */
  verified(): Promise<AuthenticationEvent>;
  /** The verifying instance's decision on alice's sign-in with a password and `mfa`. */
  decide(mfa: AuthenticationEvent): Promise<unknown>;
  /** The removal of `spare` on the withdrawing instance; its audit event's position. */
  removeSpare(): Promise<number>;
  close(): Promise<void>;
}

/** Alice with two TOTP authenticators, on two instances whose clocks differ by `ahead` seconds. */
async function openTwoClocks(url: string, ahead: number): Promise<TwoClocks> {
  const withdrawing = await openHarness({ url });
  const store = await openStore(url);
  const clock = new ManualClock(
    new Date(withdrawing.clock.now().getTime() + ahead * 1000).toJSON(),
  );
  let app: (Application & { close(): Promise<void> }) | undefined;
  const close = async () => {
    await app?.close();
    await store.close();
    await withdrawing.close();
  };
  try {
    app = withdrawing.application({ store, random: new CountingRandom(1_000_000), clock });
    // The verifying instance's own harness: its application, clock and store, the same admin.
    const verifying: Harness = { ...withdrawing, app, clock, store };
    await withdrawing.app.tenants.create(withdrawing.admin, { id: "acme", name: "Acme" });
    const service = await withdrawing.caller(["platform_service"], ["acme"]);
    // Enrolled on the verifying instance, whose clock gives the TOTP steps it verifies.
    const main = await enrolTotp(verifying, service, "acme", "alice");
    const spare = await enrolTotp(verifying, service, "acme", "alice");
    const verifier = app;
    return {
      withdrawing,
      verifying,
      service,
      main,
      spare,
      async verified() {
        clock.advance(30);
        const { event } = await verifier.authenticators.verifyTotp(
          service,
          "acme",
          "alice",
          main.id,
          { code: rightCode(verifying, main) },
        );
        return event;
      },
      decide: (mfa) =>
        verifier.decisions.decide(service, "acme", {
          principal: { id: "alice" },
          evidence: {
            events: [{ method: "password", source: "platform", at: clock.now().toJSON() }, mfa],
          },
        }),
      async removeSpare() {
        await withdrawing.app.authenticators.remove(withdrawing.admin, "acme", "alice", spare.id);
        const { items } = await withdrawing.app.audit.list(
          withdrawing.admin,
          "acme",
          { type: "authenticator.removed" },
          {},
        );
        const removed = items.at(-1);
        if (removed === undefined) throw new Error("the removal was not audited");
        return removed.seq;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

describeOnEachStore("withdrawn proofs ordered by the audit chain, not the clocks", (open) => {
  let world: TwoClocks | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it("refuses a verification made before the removal on an instance whose clock runs ahead, and counts one made after", async () => {
    world = await openTwoClocks(await open(), HOUR);
    const before = await world.verified();
    expect(await world.decide(before)).toMatchObject({ outcome: "allow" });
    const position = await world.removeSpare();
    const principal = await world.withdrawing.app.principals.get(
      world.withdrawing.admin,
      "acme",
      "alice",
    );
    // The clocks disagree: the removal is dated an hour before the verification that preceded it.
    expect(Date.parse(principal.proofsWithdrawnAt ?? "")).toBeLessThan(Date.parse(before.at));
    expect(await outcomeOf(world.decide(before))).toMatchObject({ code: "evidence.withdrawn" });
    expect(principal.proofsWithdrawnSeq).toBe(position);
    const after = await world.verified();
    expect(await world.decide(after)).toMatchObject({ outcome: "allow" });
    expect(await outcomeOf(world.decide(before))).toMatchObject({ code: "evidence.withdrawn" });
  });

  it("counts a verification made after the removal on an instance whose clock runs behind, and refuses one made before", async () => {
    world = await openTwoClocks(await open(), -HOUR);
    const before = await world.verified();
    await world.removeSpare();
    const after = await world.verified();
    const principal = await world.verifying.app.principals.get(
      world.verifying.admin,
      "acme",
      "alice",
    );
    // The clocks disagree: the verification after the removal is dated an hour before it.
    expect(Date.parse(after.at)).toBeLessThan(Date.parse(principal.proofsWithdrawnAt ?? ""));
    expect(await world.decide(after)).toMatchObject({ outcome: "allow" });
    expect(await outcomeOf(world.decide(before))).toMatchObject({ code: "evidence.withdrawn" });
  });

  it("compares by its instant a principal withdrawn before positions were kept (0023)", async () => {
    const url = await open();
    world = await openTwoClocks(url, -HOUR);
    const before = await world.verified();
    await world.removeSpare();
    // As a row withdrawn by a version before 0023 reads: the instant only.
    await tamperStore(url, ["UPDATE principals SET proofs_withdrawn_seq = NULL"]);
    const principal = await world.verifying.app.principals.get(
      world.verifying.admin,
      "acme",
      "alice",
    );
    expect(principal.proofsWithdrawnSeq).toBeUndefined();
    expect(await outcomeOf(world.decide(before))).toMatchObject({ code: "evidence.withdrawn" });
    // Dated at or before the instant by this instance's clock: refused, as it was.
    expect(await outcomeOf(world.decide(await world.verified()))).toMatchObject({
      code: "evidence.withdrawn",
    });
    world.verifying.clock.advance(2 * HOUR);
    expect(await world.decide(await world.verified())).toMatchObject({ outcome: "allow" });
  });

  it("leaves the verifications of a principal never withdrawn alone, whatever the clocks", async () => {
    world = await openTwoClocks(await open(), -HOUR);
    const verified = await world.verified();
    const principal = await world.verifying.app.principals.get(
      world.verifying.admin,
      "acme",
      "alice",
    );
    expect(principal.proofsWithdrawnAt).toBeUndefined();
    expect(principal.proofsWithdrawnSeq).toBeUndefined();
    expect(await world.decide(verified)).toMatchObject({ outcome: "allow" });
  });
});
