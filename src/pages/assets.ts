import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { FLOW_CSS } from "./assets/flow-css.js";
import { FLOW_JS } from "./assets/flow-js.js";

/**
 * The static files of the hosted flow pages, served under {@link FLOW_ASSET_PATH} at URLs that
 * name their content (`flow.<hash>.js`, the hash of the file's bytes, computed at start-up), so
 * that a browser may keep each for good and a page always runs the script it was rendered with:
 * after a deploy, the new pages name the new files. The stylesheet and the script are string
 * modules, so `dist/` has them without a copy step; the WebAuthn browser library is read once from
 * its installed package (a runtime dependency).
 *
 * @module
 */

/** Where the pages load their assets from. */
export const FLOW_ASSET_PATH = "/flow-assets/";

/** The assets, by the name they have without a version. */
export type FlowAssetName = "flow.css" | "flow.js" | "simplewebauthn-browser.js";

/** One asset as served: its content, media type, and whether the URL named this content. */
export interface FlowAsset {
  readonly body: string;
  readonly contentType: string;
  /**
   * The URL named this very content (its current hash): it may be cached for good. Otherwise it
   * named another version (an earlier or a later deploy's, see {@link flowAsset}) or none.
   */
  readonly current: boolean;
}

/** The hex digits of a file's SHA-256 in its URL: 64 bits, plenty to tell versions apart. */
const HASH_LENGTH = 16;

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

interface Entry {
  readonly body: string;
  readonly contentType: string;
  /** The file name the pages use: `flow.<hash>.js`. */
  readonly file: string;
}

function entry(name: FlowAssetName, body: string, contentType: string): Entry {
  const hash = createHash("sha256").update(body, "utf8").digest("hex").slice(0, HASH_LENGTH);
  const dot = name.lastIndexOf(".");
  return { body, contentType, file: `${name.slice(0, dot)}.${hash}${name.slice(dot)}` };
}

const ASSETS: ReadonlyMap<string, Entry> = new Map<FlowAssetName, Entry>([
  ["flow.css", entry("flow.css", FLOW_CSS, "text/css; charset=utf-8")],
  ["flow.js", entry("flow.js", FLOW_JS, JAVASCRIPT)],
  [
    "simplewebauthn-browser.js",
    entry("simplewebauthn-browser.js", SIMPLEWEBAUTHN_BROWSER, JAVASCRIPT),
  ],
]);

/** The URL path of the current version of asset `name`, for a page to refer to. */
export function flowAssetUrl(name: FlowAssetName): string {
  const asset = ASSETS.get(name);
  if (asset === undefined) throw new Error(`no flow asset ${name}`);
  return `${FLOW_ASSET_PATH}${asset.file}`;
}

/** A file name of an asset: its name, with a version's hash before the extension or not. */
const FILE = new RegExp(String.raw`^([a-z-]+)(?:\.([0-9a-f]{${HASH_LENGTH}}))?\.(css|js)$`);

/**
 * The asset that file name `file` asks for (`flow.<hash>.js`), if any. A name with another hash,
 * or with none, gets the asset as it is now, marked not {@link FlowAsset.current | current}: with
 * several instances, a rolling deploy has pages of one version ask an instance of the other for
 * their files, and a page that lost its script (its WebAuthn form stays hidden) is worse than one
 * running the other version's for the minutes a deploy lasts, as long as no cache keeps that
 * answer under that URL.
 */
export function flowAsset(file: string): FlowAsset | undefined {
  const match = FILE.exec(file);
  if (match === null) return undefined;
  const [, base, hash, extension] = match;
  const asset = ASSETS.get(`${base ?? ""}.${extension ?? ""}`);
  if (asset === undefined) return undefined;
  return {
    body: asset.body,
    contentType: asset.contentType,
    current: hash !== undefined && asset.file === file,
  };
}
