/**
 * Threat: an asset the pages load is missing from `dist/` (read from a path that only exists in
 * the source tree), is not valid script (the WebAuthn buttons never appear), or pulls something
 * from elsewhere that the pages' CSP refuses; a crafted name reads another file; a page after a
 * deploy runs the script a browser cached from before it (its URL does not name its content).
 */
import { createHash } from "node:crypto";
import { Script } from "node:vm";
import { describe, expect, it } from "vitest";
import { flowAsset, flowAssetUrl } from "./assets.js";

describe("flowAsset", () => {
  it("serves the stylesheet, the WebAuthn glue and the WebAuthn browser library", () => {
    expect(flowAsset("flow.css")?.contentType).toBe("text/css; charset=utf-8");
    expect(flowAsset("flow.js")?.contentType).toBe("text/javascript; charset=utf-8");
    expect(flowAsset("simplewebauthn-browser.js")?.body).toContain("SimpleWebAuthnBrowser");
  });

  it("ships scripts that compile", () => {
    for (const name of ["flow.js", "simplewebauthn-browser.js"]) {
      expect(() => new Script(flowAsset(name)!.body, { filename: name })).not.toThrow();
    }
  });

  it("keeps the stylesheet self-contained, as style-src 'self' and default-src 'none' need", () => {
    const css = flowAsset("flow.css")!.body;
    expect(css).not.toMatch(/@import|url\(/);
    expect(css).toContain(":focus-visible");
  });

  it("posts the ceremony's purpose with the CSRF header and fills the form's hidden fields", () => {
    const js = flowAsset("flow.js")!.body;
    expect(js).toContain('flowUrl + "/webauthn/options"');
    expect(js).toContain('"x-csrf-token": csrf');
    expect(js).toContain("JSON.stringify({ purpose: purpose })");
    expect(js).toContain(
      'form.querySelector("input[name=response]").value = JSON.stringify(result)',
    );
    expect(js).not.toMatch(/innerHTML|eval\(|new Function/);
  });

  it("names each asset's content in its URL, and knows only that URL as current", () => {
    for (const name of ["flow.css", "flow.js", "simplewebauthn-browser.js"] as const) {
      const url = flowAssetUrl(name);
      const file = url.slice("/flow-assets/".length);
      const asset = flowAsset(file)!;
      const hash = createHash("sha256").update(asset.body, "utf8").digest("hex").slice(0, 16);
      expect(url).toBe(`/flow-assets/${name.replace(/\.(css|js)$/, `.${hash}.$1`)}`);
      expect(asset.current).toBe(true);
      expect(flowAsset(name)).toEqual({ ...asset, current: false });
      expect(flowAsset(file.replace(hash, "0".repeat(16)))).toEqual({ ...asset, current: false });
    }
  });

  it.each([
    "",
    "../package.json",
    "flow.css/",
    "constructor",
    "__proto__",
    "__proto__.js",
    "FLOW.CSS",
    "flow.0123.css",
  ])("knows nothing called %j", (name) => {
    expect(flowAsset(name)).toBeUndefined();
  });
});
