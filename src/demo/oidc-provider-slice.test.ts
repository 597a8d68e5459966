/**
 * Threat: `npm install --omit=dev` leaves `oidc-provider` out; `serve --demo` must then say what
 * is missing and start nothing, rather than fail half-way with a module resolution trace.
 */
import { describe, expect, it } from "vitest";
import { DemoDependencyMissing, loadOidcProvider } from "./oidc-provider-slice.js";

describe("loading oidc-provider for the demo IdP", () => {
  it("loads the installed package", async () => {
    expect(typeof (await loadOidcProvider())).toBe("function");
  });

  it("says that the demo IdP needs the development dependencies when the package is missing", async () => {
    const missing = loadOidcProvider("tenant-mfa-no-such-package");
    await expect(missing).rejects.toBeInstanceOf(DemoDependencyMissing);
    await expect(missing).rejects.toThrow(
      "the demo IdP needs the development dependencies (oidc-provider)",
    );
  });
});
