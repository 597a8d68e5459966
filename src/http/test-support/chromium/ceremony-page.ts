import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from "@simplewebauthn/server";
import type { Browser, Page } from "playwright-core";

/**
 * A page on a loopback origin that runs WebAuthn ceremonies with `@simplewebauthn/browser`, as
 * the hosted pages will: the test hands it the server's options and gets back the browser's
 * response, created by a real authenticator. `http://localhost` and `http://*.localhost` are
 * secure contexts; an IP address can never be an RP id.
 *
 * @module
 */

// The package exports only its modules; its browser bundle sits beside them.
const bundle = readFileSync(
  join(
    dirname(createRequire(import.meta.url).resolve("@simplewebauthn/browser")),
    "../dist/bundle/index.umd.min.js",
  ),
  "utf8",
);

const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>ceremony</title>
<script src="/simplewebauthn-browser.js"></script></head><body><main>ceremony</main></body></html>`;

/** A loopback server for the ceremony page, and the browser tab on it. */
export interface CeremonyPage {
  readonly page: Page;
  /** The page's origin, e.g. `http://acme.localhost:43210`: the origin the RP must allow. */
  readonly origin: string;
  /** `navigator.credentials.create` through `startRegistration`; rejects with the DOM error. */
  register(options: PublicKeyCredentialCreationOptionsJSON): Promise<RegistrationResponseJSON>;
  /** `navigator.credentials.get` through `startAuthentication`; rejects with the DOM error. */
  authenticate(options: PublicKeyCredentialRequestOptionsJSON): Promise<AuthenticationResponseJSON>;
  close(): Promise<void>;
}

/**
 * Serves the ceremony page on 127.0.0.1 and opens it at `http://HOST:PORT/`, where `host` is
 * `localhost` or a name under it (`acme.localhost`, an RP id of its own).
 */
export async function openCeremonyPage(
  browser: Browser,
  host = "localhost",
): Promise<CeremonyPage> {
  const server: Server = createServer((request, response) => {
    if (request.url === "/simplewebauthn-browser.js") {
      response.writeHead(200, { "content-type": "text/javascript; charset=utf-8" });
      response.end(bundle);
      return;
    }
    response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    response.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://${host}:${port}`;
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${origin}/`);
  return {
    page,
    origin,
    register: (options) =>
      page.evaluate(
        // A short timeout: with no authenticator attached a ceremony would wait out its whole one.
        (optionsJSON) =>
          (globalThis as unknown as BrowserGlobal).SimpleWebAuthnBrowser.startRegistration({
            optionsJSON: { ...optionsJSON, timeout: 5000 },
          }),
        options,
      ),
    authenticate: (options) =>
      page.evaluate(
        (optionsJSON) =>
          (globalThis as unknown as BrowserGlobal).SimpleWebAuthnBrowser.startAuthentication({
            optionsJSON: { ...optionsJSON, timeout: 5000 },
          }),
        options,
      ),
    async close() {
      await context.close();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  };
}

interface BrowserGlobal {
  SimpleWebAuthnBrowser: {
    startRegistration(input: {
      optionsJSON: PublicKeyCredentialCreationOptionsJSON;
    }): Promise<RegistrationResponseJSON>;
    startAuthentication(input: {
      optionsJSON: PublicKeyCredentialRequestOptionsJSON;
    }): Promise<AuthenticationResponseJSON>;
  };
}
