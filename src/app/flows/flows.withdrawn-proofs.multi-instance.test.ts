// Threat: a leaked recovery code used on one instance outlives its revocation on the other. The
// revocation ends the browser sessions that hold that proof, but a flow that had verified the code
// and completed after the revocation used to complete and write a new browser session holding it
// (in a transaction of its own), so the attacker's browser kept earning flow codes and AAL2
// assurance tokens. Now the revocation withdraws the principal's open flows' evidence too, a flow
// completes only from the version its decision was made on, and its session is written in the
// completing transaction. Two instances on one PostgreSQL database: the flow on one, the
// administrator on the other.
import { afterEach, beforeEach, expect, it } from "vitest";
import type { Application, Caller, FlowBrowser } from "../application.js";
import { openingOf } from "../test-support/flow-opening.js";
import type { Harness } from "../test-support/harness.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";
import type { FlowScreen } from "./flow-screens.js";
import type { Repositories, Store } from "../ports.js";
import { openStore } from "../../storage/open-store.js";
import { CountingRandom } from "../test-support/harness.js";

const RETURN = "https://app.acme.example/signed-in";

const csrf = (screen: FlowScreen) => ("frame" in screen ? screen.frame.csrfToken : "");
const codeIn = (screen: FlowScreen) =>
  screen.kind === "redirect" ? new URL(screen.location).searchParams.get("code") : null;

describeOnPostgres(
  {
    title: "withdrawn proofs across instances",
    skippedTitle: "withdrawn proofs across instances",
    tests: "the two-instance revocation tests",
  },
  () => {
    let two: TwoInstances | undefined;
    let first: Harness;
    let second: Application;
    let service: Caller;
    const attacker: FlowBrowser = { cookie: "attacker-browser-cookie-0123456789" };

    beforeEach(async () => {
      two = await openTwoInstances({ principals: ["alice"] });
      ({ first, second, service } = two);
      await first.app.tenants.setReturnUrls(first.admin, "acme", { returnUrls: [RETURN] });
      const { record } = await first.app.policies.current(first.admin, "acme");
      await first.app.policies.replace(first.admin, "acme", {
        policy: { posture: "platform_mfa" },
        rationale: "MFA for everyone",
        ifMatch: record.version,
      });
    });
    afterEach(async () => {
      await two?.close();
    });

    const create = (app: Application) =>
      app.flows.create(service, "acme", {
        principal: { id: "alice" },
        verified: [{ method: "password", source: "platform", at: first.clock.now().toISOString() }],
        returnTo: RETURN,
      });

    /** A new flow in the attacker's browser, with alice's password only: does it earn a code? */
    async function laterFlowEarnsCode(app: Application, browser = attacker): Promise<boolean> {
      first.clock.advance(30);
      const started = await create(app);
      const opening = openingOf(started);
      return codeIn(await app.flows.show("acme", started.flow, browser, { opening })) !== null;
    }
    const fresh: FlowBrowser = { cookie: "control-browser-cookie-0123456789" };

    it("completes no flow whose code was revoked after it was verified, and no later flow earns a code", async () => {
      const { codes } = await first.app.recoveryCodes.generate(service, "acme", "alice");
      const started = await create(second);
      const { flow } = started;
      const challenge = await second.flows.show("acme", flow, attacker, {
        opening: openingOf(started),
      });
      const used = await second.flows.act("acme", flow, attacker, {
        kind: "verify_recovery_code",
        csrf: csrf(challenge),
        code: codes[0] ?? "",
      });
      expect(used.kind).toBe("redirect");
      // The leak is noticed: the administrator revokes every code, through the other instance.
      await first.app.recoveryCodes.revoke(first.admin, "acme", "alice");
      // The attacker's browser comes back to the flow page on its instance: asked again.
      expect((await second.flows.show("acme", flow, attacker)).kind).toBe("challenge");
      // Control: a browser that never proved anything earns no code with the password alone.
      expect(await laterFlowEarnsCode(second, fresh)).toBe(false);
      // Secure: nothing the attacker's browser holds proves MFA any more.
      expect(await laterFlowEarnsCode(second)).toBe(false);
      expect(await laterFlowEarnsCode(first.app)).toBe(false);
    });

    it("ends the session of a flow that completes while the revocation runs on the other instance", async () => {
      // A third instance whose store can be paused just before it writes a browser session.
      if (two === undefined) throw new Error("no instances");
      const raw = await openStore(two.database.url);
      let gate: { reached: () => void; release: Promise<void> } | undefined;
      const paused: Store = {
        ...raw,
        transaction: (work) =>
          raw.transaction((r) =>
            work(
              new Proxy(r, {
                get(target, key) {
                  const value = target[key as keyof Repositories];
                  if (key !== "browserSessions" || gate === undefined) return value;
                  const sessions = value as Repositories["browserSessions"];
                  const g = gate;
                  return {
                    ...sessions,
                    put: async (s: Parameters<typeof sessions.put>[0]) => {
                      g.reached();
                      await g.release;
                      return sessions.put(s);
                    },
                  };
                },
              }),
            ),
          ),
        read: (work) => raw.read(work),
        notify: (change) => raw.notify(change),
        onChange: (listener) => raw.onChange(listener),
        ping: () => raw.ping(),
        close: () => raw.close(),
      };
      const third = first.application({ store: paused, random: new CountingRandom(2_000_000) });
      try {
        const { codes } = await first.app.recoveryCodes.generate(service, "acme", "alice");
        const started = await create(third);
        const { flow } = started;
        const challenge = await third.flows.show("acme", flow, attacker, {
          opening: openingOf(started),
        });
        await third.flows.act("acme", flow, attacker, {
          kind: "verify_recovery_code",
          csrf: csrf(challenge),
          code: codes[0] ?? "",
        });
        let reached!: () => void;
        const atPut = new Promise<void>((resolve) => (reached = resolve));
        let release!: () => void;
        gate = { reached, release: new Promise<void>((resolve) => (release = resolve)) };
        const completing = third.flows.show("acme", flow, attacker);
        await atPut;
        gate = undefined;
        // The revocation starts while the completion holds its flow (and is about to keep the
        // session): it waits for that transaction, then ends the session it wrote.
        const revoking = first.app.recoveryCodes.revoke(first.admin, "acme", "alice");
        await new Promise((resolve) => setTimeout(resolve, 300));
        release();
        // Verified before the revocation, the sign-in itself completes.
        expect(codeIn(await completing)).not.toBeNull();
        await revoking;
        const [revoked] = (
          await first.app.audit.list(first.admin, "acme", { type: "recovery_code.revoked" }, {})
        ).items;
        expect(revoked?.payload).toMatchObject({ sessionsEnded: 1 });
        expect(await laterFlowEarnsCode(first.app, fresh)).toBe(false);
        expect(await laterFlowEarnsCode(first.app)).toBe(false);
      } finally {
        await third.close();
        await raw.close();
      }
    });
  },
);
