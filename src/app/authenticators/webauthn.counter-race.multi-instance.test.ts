// Threat: two assertions of one credential, each answering its own valid challenge, finished at
// once on two instances sharing PostgreSQL, are both taken as an advance of the signature
// counter, or the later commit writes a lower counter over a higher one (checklist W6, DESIGN
// invariant 7). Each round forces the race: both instances verify against the counter as it
// was (a barrier after verification), then one (the leader) sets the counter and holds its
// transaction open until the other is seen waiting on a lock, and only then commits. Pinned for
// both counter policies: the counter never goes backwards; of two assertions with one counter
// value, one advances it and the other is refused (`reject`) or accepted flagged as a suspected
// clone (`warn`); an increasing pair committed out of order leaves the higher counter; and the
// audit trail records exactly what was accepted and refused.
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { createWebAuthnProtocol } from "../../verifiers/webauthn/index.js";
import { SoftAuthenticator } from "../../verifiers/webauthn/test-support/soft-authenticator.js";
import type { Application, Caller } from "../application.js";
import { AppError } from "../errors.js";
import {
  ForcedRace,
  openRacers,
  otherRacer,
  pausingAfter,
  type Racer,
  type Racers,
} from "../test-support/forced-race.js";
import type { Harness } from "../test-support/harness.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";
import type { WebAuthnProtocol } from "./webauthn-protocol.js";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const ORIGIN = "https://mfa.test";
const INITIAL_COUNT = 10;

/** What one racer's finish ended with. */
type Result =
  | {
      readonly outcome: "accepted";
      readonly signCount: number;
      readonly warnings: readonly string[];
      readonly verification: string | undefined;
    }
  | { readonly outcome: string };

interface AuditItem {
  readonly id: string;
  readonly type: string;
  readonly payload: Record<string, unknown>;
}

for (const policy of ["reject", "warn"] as const) {
  describeOnPostgres(
    {
      title: `WebAuthn counter races on two instances sharing PostgreSQL (signCountPolicy ${policy})`,
      skippedTitle: `WebAuthn counter races (signCountPolicy ${policy})`,
      tests: `multi-instance WebAuthn counter race tests (${policy})`,
    },
    () => {
      let two: TwoInstances | undefined;
      let first: Harness;
      let service: Caller;
      let racers: Racers | undefined;
      let race: ForcedRace | undefined;
      let credentialId = "";
      const key = new SoftAuthenticator({ origin: ORIGIN, initialSignCount: INITIAL_COUNT });

      /** The real verifier, then the race's barrier (and the follower's wait for its turn). */
      const gated = (racer: Racer, real: WebAuthnProtocol): WebAuthnProtocol => ({
        ...real,
        async verifyAuthentication(input) {
          const verification = await real.verifyAuthentication(input);
          await race?.verified(racer);
          return verification;
        },
      });

      /** The leader's first counter set holds its transaction open while the follower queues. */
      const holdingAfterAccept = (racer: Racer) =>
        pausingAfter("webauthnCredentials", "acceptAssertion", async (accepted) => {
          if (accepted === true) await race?.wrote(racer);
        });

      beforeAll(async () => {
        two = await openTwoInstances({ principals: ["alice"] });
        ({ first, service } = two);
        await first.app.webauthn.putSettings(first.admin, "acme", {
          rpId: "mfa.test",
          origins: [ORIGIN],
          signCountPolicy: policy,
        });
        racers = await openRacers(two, (name) => ({
          wrap: holdingAfterAccept(name),
          overrides: {
            webauthn: { protocol: gated(name, createWebAuthnProtocol()), publicUrl: ORIGIN },
          },
        }));
        const begun = await first.app.webauthn.beginRegistration(service, "acme", "alice");
        const view = await first.app.webauthn.finishRegistration(
          service,
          "acme",
          "alice",
          begun.registration,
          { response: key.register(begun.options) },
        );
        credentialId = view.id;
      });
      afterAll(async () => {
        await racers?.close();
        await two?.close();
      });

      const racer = (name: Racer): Application => {
        if (racers === undefined) throw new Error("no racers");
        return racers.get(name);
      };

      const storedCount = async (): Promise<number> => {
        const stored = await first.store.read((r) =>
          r.webauthnCredentials.get("acme", "alice", credentialId),
        );
        if (stored === undefined) throw new Error("the credential is gone");
        return stored.signCount;
      };

      const webauthnAudit = async (): Promise<AuditItem[]> => {
        const page = await first.app.audit.list(first.admin, "acme", {}, { limit: 500 });
        return page.items
          .filter((e) => e.type.startsWith("webauthn.") && e.type !== "webauthn.registered")
          .map((e) => ({ id: e.id, type: e.type, payload: e.payload }));
      };

      /**
       * Races A's assertion with counter `counters.A` and B's with `counters.B`, each answering
       * its own challenge begun on its own instance; the leader commits first, while the other
       * waits on its lock. Returns each racer's result and the WebAuthn audit events it left.
       */
      async function runRace(
        leader: Racer,
        counters: Readonly<Record<Racer, number>>,
      ): Promise<{ results: Record<Racer, Result>; audit: AuditItem[] }> {
        if (two === undefined) throw new Error("no instances");
        const before = (await webauthnAudit()).length;
        const finish = async (name: Racer): Promise<Result> => {
          const app = racer(name);
          const begun = await app.webauthn.beginAuthentication(service, "acme", "alice");
          const response = key.authenticate(begun.options, { signCount: counters[name] });
          try {
            const done = await app.webauthn.finishAuthentication(
              service,
              "acme",
              "alice",
              begun.authentication,
              { response },
            );
            return {
              outcome: "accepted",
              signCount: done.authenticator.signCount,
              warnings: (done.warnings ?? []).map((w) => w.code),
              verification: done.event.verification,
            };
          } catch (error) {
            if (error instanceof AppError) return { outcome: error.code };
            throw error;
          }
        };
        race = new ForcedRace(leader);
        const results = await race.run(two.database.name, {
          A: () => finish("A"),
          B: () => finish("B"),
        });
        race = undefined;
        return { results, audit: (await webauthnAudit()).slice(before) };
      }

      /** Every accepted result is one `webauthn.verified` event of the round, with its counter. */
      function expectAuditOfAccepted(results: Record<Racer, Result>, audit: AuditItem[]) {
        const verified = audit.filter((e) => e.type === "webauthn.verified");
        const accepted = Object.values(results).filter(
          (r): r is Extract<Result, { outcome: "accepted" }> => r.outcome === "accepted",
        );
        expect(verified).toHaveLength(accepted.length);
        for (const r of accepted) {
          const event = verified.find((e) => e.id === r.verification);
          expect(event?.payload).toMatchObject({ signCount: r.signCount });
        }
        // Chain order is commit order: the counters it records never go down.
        const counts = verified.map((e) => e.payload.signCount as number);
        expect(counts).toEqual([...counts].sort((x, y) => x - y));
        const refused = Object.values(results).filter((r) => r.outcome !== "accepted");
        expect(audit.filter((e) => e.type === "webauthn.authentication_failed")).toHaveLength(
          refused.length,
        );
      }

      const base = { principal: "alice", authenticator: "" };

      for (const leader of ["A", "B"] as const) {
        const follower = otherRacer(leader);

        it(`of two assertions with one counter value, advances the counter once (${leader} first)`, async () => {
          base.authenticator = credentialId;
          const n = await storedCount();
          const { results, audit } = await runRace(leader, { A: n + 1, B: n + 1 });
          expect(results[leader]).toEqual({
            outcome: "accepted",
            signCount: n + 1,
            warnings: [],
            verification: expect.any(String),
          });
          const clone = {
            type: "webauthn.clone_detected",
            payload: expect.objectContaining({
              ...base,
              storedSignCount: n + 1,
              receivedSignCount: n + 1,
              policy,
            }),
          };
          if (policy === "reject") {
            expect(results[follower]).toEqual({ outcome: "webauthn.clone_detected" });
            expect(audit).toEqual([
              expect.objectContaining({ type: "webauthn.verified" }),
              expect.objectContaining(clone),
              expect.objectContaining({
                type: "webauthn.authentication_failed",
                payload: expect.objectContaining({ ...base, reason: "webauthn.clone_detected" }),
              }),
            ]);
          } else {
            // Accepted, but flagged, and the counter stays where the first put it.
            expect(results[follower]).toEqual({
              outcome: "accepted",
              signCount: n + 1,
              warnings: ["webauthn.clone_suspected"],
              verification: expect.any(String),
            });
            expect(audit).toEqual([
              expect.objectContaining({
                type: "webauthn.verified",
                payload: expect.not.objectContaining({ warnings: expect.anything() }),
              }),
              expect.objectContaining(clone),
              expect.objectContaining({
                type: "webauthn.verified",
                payload: expect.objectContaining({ warnings: ["webauthn.clone_suspected"] }),
              }),
            ]);
          }
          expectAuditOfAccepted(results, audit);
          expect(await storedCount()).toBe(n + 1);
        });

        it(`accepts two increasing counters committed in order (${leader} first)`, async () => {
          const n = await storedCount();
          const counters = { [leader]: n + 1, [follower]: n + 2 } as Record<Racer, number>;
          const { results, audit } = await runRace(leader, counters);
          expect(results[leader]).toMatchObject({ outcome: "accepted", signCount: n + 1 });
          expect(results[follower]).toMatchObject({
            outcome: "accepted",
            signCount: n + 2,
            warnings: [],
          });
          expect(audit.map((e) => e.type)).toEqual(["webauthn.verified", "webauthn.verified"]);
          expectAuditOfAccepted(results, audit);
          expect(await storedCount()).toBe(n + 2);
        });

        it(`never sets the counter back when the lower one commits last (${leader} first)`, async () => {
          const n = await storedCount();
          const counters = { [leader]: n + 2, [follower]: n + 1 } as Record<Racer, number>;
          const { results, audit } = await runRace(leader, counters);
          expect(results[leader]).toMatchObject({ outcome: "accepted", signCount: n + 2 });
          const clone = expect.objectContaining({
            type: "webauthn.clone_detected",
            payload: expect.objectContaining({
              storedSignCount: n + 2,
              receivedSignCount: n + 1,
              policy,
            }),
          });
          if (policy === "reject") {
            expect(results[follower]).toEqual({ outcome: "webauthn.clone_detected" });
            expect(audit.map((e) => e.type)).toEqual([
              "webauthn.verified",
              "webauthn.clone_detected",
              "webauthn.authentication_failed",
            ]);
          } else {
            expect(results[follower]).toMatchObject({
              outcome: "accepted",
              signCount: n + 2,
              warnings: ["webauthn.clone_suspected"],
            });
            expect(audit.map((e) => e.type)).toEqual([
              "webauthn.verified",
              "webauthn.clone_detected",
              "webauthn.verified",
            ]);
          }
          expect(audit[1]).toEqual(clone);
          expectAuditOfAccepted(results, audit);
          expect(await storedCount()).toBe(n + 2);
        });
      }

      it("leaves an audit chain that verifies", async () => {
        expect(await first.app.audit.verify(first.admin, { tenant: "acme" })).toMatchObject({
          ok: true,
        });
      });
    },
  );
}
