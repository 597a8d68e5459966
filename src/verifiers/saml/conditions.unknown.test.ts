/**
 * Threat (SAML Core §2.5.1): a Conditions element holding a condition the relying party does not
 * understand makes the assertion Indeterminate, and it must not be relied on. Unknown conditions
 * used to be ignored, so an assertion restricted by an IdP's own <saml:Condition xsi:type=…> was
 * accepted as if unrestricted.
 */
import { describe, expect, it } from "vitest";
import { idpResponse, outcomeOf } from "./test-support/scenario.js";

const UNKNOWN_CONDITION =
  '<saml:Condition xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"' +
  ' xmlns:ext="urn:example:conditions" xsi:type="ext:OnlyFromDeviceX"/>';

describe("Conditions this SP does not understand", () => {
  it("refuses an assertion carrying an unknown Condition (Indeterminate, Core §2.5.1)", async () => {
    const response = await idpResponse({ tags: { ExtraConditions: UNKNOWN_CONDITION } });
    expect(await outcomeOf(response)).toBe("saml.condition_unknown");
  });

  it("refuses an element of another namespace among the Conditions", async () => {
    const response = await idpResponse({
      tags: { ExtraConditions: '<ext:OnlyOnTuesdays xmlns:ext="urn:example:conditions"/>' },
    });
    expect(await outcomeOf(response)).toBe("saml.condition_unknown");
  });

  it("accepts the conditions it understands and meets: OneTimeUse and ProxyRestriction", async () => {
    const response = await idpResponse({
      tags: { ExtraConditions: '<saml:OneTimeUse/><saml:ProxyRestriction Count="0"/>' },
    });
    expect(await outcomeOf(response)).toBe("ok");
  });
});
