import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { FLOW_CSS } from "./assets/flow-css.js";
import { FLOW_JS } from "./assets/flow-js.js";

/**
 * The static files of the hosted flow pages, served under {@link FLOW_ASSET_PATH}. The
 * stylesheet and the script are string modules, so `dist/` has them without a copy step; the
 * WebAuthn browser library is read once from its installed package (a runtime dependency).
 *
 * @module
 */

/** Where the pages load their assets from. */
export const FLOW_ASSET_PATH = "/flow-assets/";

/** One asset: its content and media type. */
export interface FlowAsset {
  readonly body: string;
  readonly contentType: string;
}

const JAVASCRIPT = "text/javascript; charset=utf-8";

// The package exports only its modules; its UMD bundle (global `SimpleWebAuthnBrowser`) sits
// beside them.
const SIMPLEWEBAUTHN_BROWSER = readFileSync(
  join(
    dirname(createRequire(import.meta.url).resolve("@simplewebauthn/browser")),
    "../dist/bundle/index.umd.min.js",
  ),
  "utf8",
);

const ASSETS: ReadonlyMap<string, FlowAsset> = new Map([
  ["flow.css", { body: FLOW_CSS, contentType: "text/css; charset=utf-8" }],
  ["flow.js", { body: FLOW_JS, contentType: JAVASCRIPT }],
  ["simplewebauthn-browser.js", { body: SIMPLEWEBAUTHN_BROWSER, contentType: JAVASCRIPT }],
]);

/** The asset called `name` (`flow.css`, `flow.js`, `simplewebauthn-browser.js`), if any. */
export function flowAsset(name: string): FlowAsset | undefined {
  return ASSETS.get(name);
}
