// Threat: someone with write access to the database edits the receipt of a completed flow (more
// assurance than was proven) before the platform exchanges the flow's code. The assurance token
// is signed from the receipt: the exchange must refuse a receipt that its decision.recorded event
// did not bind.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Caller, FlowBrowser } from "../application.js";
import { chainOf, recordedEventId } from "../audit/audit-chain.js";
import { openingOf } from "../test-support/flow-opening.js";
import type { Harness } from "../test-support/harness.js";
import { openSqliteWorld, type TamperedWorld } from "../test-support/tampered-world.js";
import { enrolTotp, rightCode, type EnrolledTotp } from "../test-support/totp-principals.js";

const RETURN = "https://app.acme.example/signed-in";
const ISSUER = "https://mfa.test";

describe("the code exchange of a flow whose receipt was tampered with", () => {
  let world: TamperedWorld;
  let h: Harness;
  let service: Caller;
  let totp: EnrolledTotp;
  let code: string;
  let decision: string;
  const browser: FlowBrowser = { cookie: "browser-one-cookie-value-0123456789" };

  beforeEach(async () => {
    world = await openSqliteWorld({ federation: { publicUrl: ISSUER } });
    ({ h } = world);
    await h.app.tenants.create(h.admin, { id: "acme", name: "Acme", returnUrls: [RETURN] });
    service = await h.caller(["platform_service"], ["acme"]);
    totp = await enrolTotp(h, service, "acme", "alice");
    h.clock.advance(60);
    const started = await h.app.flows.create(service, "acme", {
      principal: { id: "alice" },
      verified: [{ method: "password", source: "platform", at: h.clock.now().toISOString() }],
      returnTo: RETURN,
      state: "st-1",
    });
    const { flow } = started;
    const challenge = await h.app.flows.show("acme", flow, browser, {
      opening: openingOf(started),
    });
    if (!("frame" in challenge)) throw new Error(`no frame on a ${challenge.kind} screen`);
    await h.app.flows.act("acme", flow, browser, {
      kind: "verify_totp",
      csrf: challenge.frame.csrfToken,
      authenticator: totp.id,
      code: rightCode(h, totp),
    });
    const done = await h.app.flows.show("acme", flow, browser);
    if (done.kind !== "redirect") throw new Error(`ended on a ${done.kind} screen`);
    code = new URL(done.location).searchParams.get("code") ?? "";
    const recorded = (
      await h.store.read((r) =>
        r.audit.read(chainOf("acme"), {
          afterSeq: 0,
          limit: 100,
          filter: { type: "decision.recorded" },
        }),
      )
    ).at(-1);
    decision = String(recorded?.payload["decision"]);
  });
  afterEach(() => world.close());

  const refusals = async () =>
    (
      await h.store.read((r) =>
        r.audit.read(chainOf("acme"), {
          afterSeq: 0,
          limit: 100,
          filter: { type: "flow.exchange_refused" },
        }),
      )
    ).map((e) => e.payload["reason"]);

  it("exchanges the code of an untouched receipt", async () => {
    expect(await h.app.flows.exchange(service, { code })).toMatchObject({ decision });
  });

  it("refuses a receipt edited after its decision was recorded, and audits why", async () => {
    await world.tamper([
      `UPDATE receipts SET decision = replace(decision, '"totp"', '"webauthn"') WHERE id = '${decision}'`,
    ]);
    await expect(h.app.flows.exchange(service, { code })).rejects.toMatchObject({
      code: "flow.code_invalid",
    });
    expect(await refusals()).toEqual(["receipt_mismatch"]);
  });

  it("refuses a receipt whose text is no longer JSON, and audits why", async () => {
    await world.tamper([
      `UPDATE receipts SET decision = '{"outcome":"allow"' WHERE id = '${decision}'`,
    ]);
    await expect(h.app.flows.exchange(service, { code })).rejects.toMatchObject({
      code: "flow.code_invalid",
    });
    expect(await refusals()).toEqual(["receipt_mismatch"]);
  });

  it("refuses a receipt whose decision.recorded event is gone", async () => {
    await world.tamper([
      `UPDATE audit_events SET id = 'evt_elsewhere' WHERE id = '${recordedEventId(decision)}'`,
    ]);
    await expect(h.app.flows.exchange(service, { code })).rejects.toMatchObject({
      code: "flow.code_invalid",
    });
    expect(await refusals()).toEqual(["receipt_unrecorded"]);
  });
});
