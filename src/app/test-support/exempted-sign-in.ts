import { expect } from "vitest";
import type { Caller, FlowBrowser } from "../application.js";
import type { Harness } from "./harness.js";
import { codeOf, csrfOf } from "./platform-mfa-flows.js";
import { openingOf } from "./flow-opening.js";

/** A break-glass exemption of `principal` at acme, approved now, ending in `seconds`: its id. */
export async function approvedBreakGlass(
  h: Harness,
  principal = "alice",
  seconds = 3600,
): Promise<string> {
  const inSeconds = (offset: number) =>
    new Date(h.clock.now().getTime() + offset * 1000).toISOString();
  const approver = await h.caller(["exemption_approver"], ["acme"]);
  const requested = await h.app.exemptions.request(h.admin, "acme", {
    principal,
    category: "break_glass",
    justification: "Locked out during an incident",
    owner: "secops",
    startsAt: inSeconds(0),
    expiresAt: inSeconds(seconds),
    reviewAt: inSeconds(seconds),
  });
  await h.app.exemptions.approve(approver, "acme", requested.id);
  return requested.id;
}

/** Where a hosted flow of `principal` under an approved break-glass exemption begins. */
interface ExemptedFlowOptions {
  readonly browser: FlowBrowser;
  readonly returnTo: string;
  readonly principal?: string;
  readonly seconds?: number;
}

/**
 * A hosted flow of `principal` (alice by default) at acme, after a password, whose page showed a
 * break-glass exemption approved just before, ending in `seconds` (an hour by default), and whose
 * user read its notice and went on: the next visit settles it. Returns the exemption and the flow.
 */
export async function acknowledgedExemption(
  h: Harness,
  service: Caller,
  options: ExemptedFlowOptions,
): Promise<{ exemption: string; flow: string }> {
  const principal = options.principal ?? "alice";
  const exemption = await approvedBreakGlass(h, principal, options.seconds);
  const started = await h.app.flows.create(service, "acme", {
    principal: { id: principal },
    verified: [{ method: "password", source: "platform", at: h.clock.now().toISOString() }],
    returnTo: options.returnTo,
  });
  const { flow } = started;
  const notice = await h.app.flows.show("acme", flow, options.browser, {
    opening: openingOf(started),
  });
  expect(notice.kind).toBe("exemption");
  await h.app.flows.act("acme", flow, options.browser, { kind: "continue", csrf: csrfOf(notice) });
  return { exemption, flow };
}

/**
 * The sign-in {@link acknowledgedExemption} begins, settled: the exemption, the flow and its
 * one-time code.
 */
export async function exemptedSignIn(
  h: Harness,
  service: Caller,
  options: ExemptedFlowOptions,
): Promise<{ exemption: string; flow: string; code: string }> {
  const { exemption, flow } = await acknowledgedExemption(h, service, options);
  const code = codeOf(await h.app.flows.show("acme", flow, options.browser));
  if (code === null) throw new Error("the exempted flow did not complete");
  return { exemption, flow, code };
}
