import { expect } from "vitest";
import type { Caller, FlowBrowser } from "../application.js";
import type { Harness } from "./harness.js";
import { codeOf, csrfOf } from "./platform-mfa-flows.js";
import { openingOf } from "./flow-opening.js";

/**
 * A hosted-flow sign-in of `principal` (alice by default) at acme that a break-glass exemption,
 * approved just before and ending in `seconds` (an hour by default), let through: the user read
 * the exemption's notice and went on. Returns the exemption, the flow and its one-time code.
 */
export async function exemptedSignIn(
  h: Harness,
  service: Caller,
  options: {
    readonly browser: FlowBrowser;
    readonly returnTo: string;
    readonly principal?: string;
    readonly seconds?: number;
  },
): Promise<{ exemption: string; flow: string; code: string }> {
  const principal = options.principal ?? "alice";
  const inSeconds = (seconds: number) =>
    new Date(h.clock.now().getTime() + seconds * 1000).toISOString();
  const approver = await h.caller(["exemption_approver"], ["acme"]);
  const requested = await h.app.exemptions.request(h.admin, "acme", {
    principal,
    category: "break_glass",
    justification: "Locked out during an incident",
    owner: "secops",
    startsAt: inSeconds(0),
    expiresAt: inSeconds(options.seconds ?? 3600),
    reviewAt: inSeconds(options.seconds ?? 3600),
  });
  await h.app.exemptions.approve(approver, "acme", requested.id);
  const started = await h.app.flows.create(service, "acme", {
    principal: { id: principal },
    verified: [{ method: "password", source: "platform", at: inSeconds(0) }],
    returnTo: options.returnTo,
  });
  const { flow } = started;
  const notice = await h.app.flows.show("acme", flow, options.browser, {
    opening: openingOf(started),
  });
  expect(notice.kind).toBe("exemption");
  await h.app.flows.act("acme", flow, options.browser, { kind: "continue", csrf: csrfOf(notice) });
  const code = codeOf(await h.app.flows.show("acme", flow, options.browser));
  if (code === null) throw new Error("the exempted flow did not complete");
  return { exemption: requested.id, flow, code };
}
