import type { FlowBrowser } from "../../app/application.js";
import type { FlowScreen } from "../../app/flows/flow-screens.js";
import { openingOf } from "../../app/test-support/flow-opening.js";
import type { TestServer } from "./open-test-server.js";
import { RETURN_URL } from "./oidc-federation.js";
import { must } from "./saml-federation.js";

/** A challenge screen of a hosted flow. */
export type ChallengeScreen = Extract<FlowScreen, { kind: "challenge" }>;

/**
 * A new hosted flow of alice at acme, created through the API by a platform service key after the
 * platform's own password check, and the challenge screen it first shows `browser` (its opening
 * visit): the flow, and the screen with the ways in it offers and its form's CSRF token.
 */
export async function aliceFlowChallenge(
  t: TestServer,
  browser: FlowBrowser,
): Promise<{ flow: string; screen: ChallengeScreen }> {
  const started = must(
    await t.call("POST", "/v1/tenants/acme/flows", {
      key: await t.key(["platform_service"], ["acme"]),
      body: {
        principal: { id: "alice" },
        return_to: RETURN_URL,
        verified: [{ method: "password", source: "platform", at: t.clock.now().toISOString() }],
      },
    }),
    201,
  ).json<{ flow: string; url: string }>();
  const screen = await t.app.flows.show("acme", started.flow, browser, {
    opening: openingOf(started),
  });
  if (screen.kind !== "challenge") throw new Error(`a ${screen.kind} screen, not a challenge`);
  return { flow: started.flow, screen };
}
