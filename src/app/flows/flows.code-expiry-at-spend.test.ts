// Threat: a flow's one-time code spent after its minute. The exchange looked at the code's expiry
// early, then signed the token (slow) and spent the code in a transaction of its own, which
// never looked at the expiry again: a code that expired in between (a GC pause, a slow signer,
// an UPDATE waiting on the flow's row in a busy PostgreSQL) still exchanged for a token. The
// spend now requires the code unexpired at the clock's now, in the transaction that spends it,
// once it holds the flow's row. The pause is made deterministic by moving the clock at the spend.
import { afterEach, expect, it } from "vitest";
import type { Application, Caller, FlowBrowser } from "../application.js";
import { auditEventsOf, exchangeEventName } from "../test-support/audit-events.js";
import { describeOnEachStore } from "../test-support/each-store.js";
import { CountingRandom, type Harness } from "../test-support/harness.js";
import { completedTotpFlow, openPlatformMfaTenant } from "../test-support/platform-mfa-flows.js";
import { enrolTotp, type EnrolledTotp } from "../test-support/totp-principals.js";
import { wrapRepositories } from "../test-support/wrapped-store.js";
import type { Repositories } from "../ports.js";

const RETURN = "https://app.acme.example/signed-in";

/** Where in the spend the pause falls: before it reads the flow's row, or as it writes it. */
type PauseAt = "read" | "write";

describeOnEachStore(
  "a flow code that expires between the exchange's check and its spend",
  (url) => {
    let h: Harness;
    let service: Caller;
    let totp: EnrolledTotp;
    let racing: (Application & { close(): Promise<void> }) | undefined;
    const browser: FlowBrowser = { cookie: "the-users-browser-cookie-0123456789" };
    /** Seconds the clock moves at the spend's next read or write of a flow row; then disarmed. */
    const pause: { at?: PauseAt | undefined; seconds: number } = { seconds: 0 };

    async function open(): Promise<void> {
      ({ h, service } = await openPlatformMfaTenant(RETURN, { url: await url() }));
      totp = await enrolTotp(h, service, "acme", "alice");
      h.clock.advance(30);
      // Only the exchange's transactions pause: its early look at the code is a read.
      const paused = (r: Repositories): Repositories => ({
        ...r,
        flows: {
          ...r.flows,
          get: async (...args) => {
            if (pause.at === "read") {
              pause.at = undefined;
              h.clock.advance(pause.seconds);
            }
            return r.flows.get(...args);
          },
          update: async (record) => {
            if (pause.at === "write" && record.status === "exchanged") {
              pause.at = undefined;
              h.clock.advance(pause.seconds);
            }
            return r.flows.update(record);
          },
        },
      });
      const store = { ...wrapRepositories(h.store, paused), read: h.store.read.bind(h.store) };
      racing = h.application({ store, random: new CountingRandom(500_000) });
    }
    afterEach(async () => {
      pause.at = undefined;
      await racing?.close();
      await h.close();
    });

    /** Walks a new flow of alice's with TOTP to its code; the clock is then at its issue. */
    const completed = () => completedTotpFlow(h, service, { browser, returnTo: RETURN, totp });

    const statusOf = async (flow: string) =>
      (await h.store.read(({ flows }) => flows.get("acme", flow)))?.status;
    const exchangeEvents = () => auditEventsOf(h, "acme", exchangeEventName);

    it.each<PauseAt>(["read", "write"])(
      "is refused as expired when the clock passes the code's minute at the spend's %s",
      async (at) => {
        await open();
        const { flow, code } = await completed();
        h.clock.advance(30);
        Object.assign(pause, { at, seconds: 31 });
        await expect(racing?.flows.exchange(service, { code })).rejects.toMatchObject({
          code: "flow.code_invalid",
        });
        expect(pause.at).toBeUndefined(); // the pause happened
        expect(await statusOf(flow)).toBe("completed");
        expect(await exchangeEvents()).toEqual(["flow.exchange_refused:expired"]);
      },
    );

    it.each<PauseAt>(["read", "write"])(
      "still exchanges a code whose minute the pause at the spend's %s does not end",
      async (at) => {
        await open();
        const { flow, code } = await completed();
        h.clock.advance(30);
        Object.assign(pause, { at, seconds: 29 });
        await expect(racing?.flows.exchange(service, { code })).resolves.toMatchObject({
          principal: "alice",
        });
        expect(pause.at).toBeUndefined();
        expect(await statusOf(flow)).toBe("exchanged");
        expect(await exchangeEvents()).toEqual(["flow.exchanged"]);
      },
    );
  },
);
