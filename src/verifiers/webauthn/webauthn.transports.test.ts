// Threat: unchecked client input stored and served back. A registration response's
// `transports` is what the client says, outside anything signed (WebAuthn §5.2.1.1); it is
// stored with the credential, shown in the authenticator list and sent to every later
// ceremony's browser in `allowCredentials` / `excludeCredentials`. Only AuthenticatorTransport
// values (§5.8.4), once each, are kept: numbers, objects, a string spread into its letters or
// megabytes of text must not become the credential's transports (nor break the list's schema,
// an array of strings).
import { describe, expect, it } from "vitest";
import type { RelyingParty } from "../../app/authenticators/webauthn-protocol.js";
import { createWebAuthnProtocol } from "./index.js";
import { SoftAuthenticator } from "./test-support/soft-authenticator.js";

const protocol = createWebAuthnProtocol();
const rp: RelyingParty = { id: "mfa.test", name: "Acme", origins: ["https://mfa.test"] };

async function registeredWith(transports: unknown) {
  const challenge = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
  const options = await protocol.registrationOptions({
    rp,
    user: { id: "acme\u0000alice", name: "alice", displayName: "Alice" },
    challenge,
    excludeCredentials: [],
    userVerification: "required",
    attestation: "none",
    timeoutMs: 60_000,
  });
  const response = new SoftAuthenticator({ origin: "https://mfa.test" }).register(options) as {
    response: Record<string, unknown>;
  };
  response.response.transports = transports;
  return protocol.verifyRegistration({
    response,
    challenge,
    rp,
    userVerification: "required",
    aaguids: [],
    at: new Date(),
  });
}

const transportsOf = async (transports: unknown) => {
  const result = await registeredWith(transports);
  if (!result.ok) throw new Error(`registration refused: ${result.code}`);
  return result.credential.transports;
};

describe("the transports a registration reports", () => {
  it("keeps the AuthenticatorTransport values, in order", async () => {
    expect(await transportsOf(["hybrid", "internal", "usb", "nfc", "ble", "smart-card"])).toEqual([
      "hybrid",
      "internal",
      "usb",
      "nfc",
      "ble",
      "smart-card",
    ]);
    expect(await transportsOf(undefined)).toEqual([]);
  });

  it.each([
    ["numbers and objects", [123, { a: 1 }, "usb"], ["usb"]],
    ["a string instead of a list", "usb", []],
    ["a number instead of a list", 5, []],
    ["unknown names", ["usb", "carrier-pigeon", "USB", "x".repeat(5000)], ["usb"]],
    ["repeats", Array<string>(2000).fill("internal"), ["internal"]],
  ])("drops %s", async (_name, sent, kept) => {
    expect(await transportsOf(sent)).toEqual(kept);
  });
});
