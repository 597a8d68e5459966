// Threat: an enrolment that files the secret under another name. The key URI's label is
// `issuer:account`, and the Key URI Format says neither part may contain a colon: an app splits
// the label at a colon, URL-encoded or not. A tenant name or a principal's display name with a
// colon (both set by administrators) would otherwise make the app read another issuer or account
// than the platform meant, or one chosen to look like another service's. Read back here with
// otpauth's own parser, as an authenticator app reads the QR code.
import { URI } from "otpauth";
import { describe, expect, it } from "vitest";
import type { TotpParameters } from "../../app/authenticators/totp-protocol.js";
import { createTotpProtocol, provisionTotp } from "./index.js";

const SHA1_6: TotpParameters = { algorithm: "SHA1", digits: 6, period: 30 };
const secret = createTotpProtocol().newSecret();

/** The label as an app reads it: the URI's path, decoded. */
const labelOf = (uri: string) => decodeURIComponent(new URL(uri).pathname.replace(/^\//, ""));

describe("the key URI's label", () => {
  it("reads back as the tenant's issuer and the principal's account when the issuer has a colon", async () => {
    const { uri } = await provisionTotp({
      secret,
      issuer: "Acme: Bank",
      label: "alice@acme.example",
      parameters: SHA1_6,
    });
    const parsed = URI.parse(uri);
    expect([parsed.issuer, parsed.label]).toEqual(["Acme Bank", "alice@acme.example"]);
    expect(labelOf(uri)).toBe("Acme Bank:alice@acme.example");
  });

  it("keeps a colon in the account name from splitting the label again", async () => {
    const { uri } = await provisionTotp({
      secret,
      issuer: "Acme",
      label: "Other Bank:alice",
      parameters: SHA1_6,
    });
    expect(labelOf(uri)).toBe("Acme:Other Bank alice");
    expect(URI.parse(uri)).toMatchObject({ issuer: "Acme", label: "Other Bank alice" });
  });

  it("leaves names without a colon as they are", async () => {
    const { uri } = await provisionTotp({
      secret,
      issuer: "Acme Corp",
      label: "alice@acme.example",
      parameters: SHA1_6,
    });
    expect(uri).toBe(
      `otpauth://totp/Acme%20Corp:alice%40acme.example?issuer=Acme%20Corp&secret=${secret}&algorithm=SHA1&digits=6&period=30`,
    );
  });
});
