/**
 * Threat: a demo that only works on the first start, or whose IdP tenant-mfa cannot reach, sends
 * newcomers away believing federation is broken, or tempts them to loosen checks (https, the
 * IdP's proof) to make it work. These tests run `tenant-mfa serve --demo` as the CLI does, twice
 * on one store, and walk Initech's sign-in through the real server and the development IdP:
 * the server must ask the IdP, verify its ID token and decide from it, with MFA and without.
 * (demo-click-through.browser.test.ts walks the demo platform through the hosted flows in
 * Chromium.)
 */
import { afterEach, describe, expect, it } from "vitest";
import type { RunningServer } from "../main.js";
import { plainBrowser } from "./test-support/plain-browser.js";
import { freshDemo, printedSecret, serveDemo } from "./test-support/serve-demo.js";

let open: RunningServer[] = [];
afterEach(async () => {
  for (const running of open) await running.close();
  open = [];
});

const serve = (args: readonly string[]) =>
  serveDemo(args, (running) => {
    open.push(running);
  });

/** Initech's sign-in at its IdP, started the way the platform (or a flow) sends the browser. */
async function signInAtInitech(
  ports: { server: number; platform: number },
  method: "mfa" | "pwd",
): Promise<string> {
  const browser = plainBrowser();
  const returnTo = `http://localhost:${String(ports.platform)}/callback`;
  const start = `http://localhost:${String(ports.server)}/t/initech/idps/corp-idp/start?principal=carol&return_to=${encodeURIComponent(returnTo)}`;
  const atPlatform = (url: string) => url.startsWith(returnTo);
  const page = await browser.follow(start, { stopAt: atPlatform });
  expect(page.response?.status).toBe(200);
  const html = (await page.response?.text()) ?? "";
  expect(html).toContain("Sign in to Initech");
  const action = /<form class="card" method="post" action="([^"]+)"/.exec(html)?.[1] ?? "";
  const back = await browser.follow(new URL(action, page.url).href, {
    form: { username: "carol", password: "anything", method },
    stopAt: atPlatform,
  });
  const decision = new URL(back.url).searchParams.get("decision");
  expect(decision).toMatch(/^dec_/);
  return decision ?? "";
}

describe("tenant-mfa serve --demo", () => {
  it("starts the demo apps, survives a second start on the same store, and Initech's IdP path works", async () => {
    const { ports, args } = await freshDemo("tenant-mfa-demo-");

    const first = await serve(args);
    expect(first.stderr).toBe("");
    expect(first.stdout).toContain(`demo platform      http://localhost:${String(ports.platform)}`);
    expect(first.stdout).toContain(`development IdP    http://localhost:${String(ports.idp)}`);
    expect(first.stdout).toContain(`tenant-mfa         http://localhost:${String(ports.server)}`);
    const admin = printedSecret(first.stdout, "demo platform admin");
    expect(admin).toMatch(/^tmfa_/);
    await first.running?.close();
    // Closing the server closed the demo apps.
    await expect(fetch(`http://127.0.0.1:${String(ports.platform)}/`)).rejects.toThrow();
    await expect(fetch(`http://127.0.0.1:${String(ports.idp)}/jwks`)).rejects.toThrow();

    const second = await serve(args);
    expect(second.stderr).toBe("");
    expect(second.stdout).toContain("demo apps: IdP initech/corp-idp updated");

    const home = await fetch(`http://localhost:${String(ports.platform)}/`);
    expect(home.status).toBe(200);
    expect(await home.text()).toContain("carol@initech");
    const discovery = await fetch(
      `http://localhost:${String(ports.idp)}/.well-known/openid-configuration`,
    );
    expect(((await discovery.json()) as { issuer: string }).issuer).toBe(
      `http://localhost:${String(ports.idp)}`,
    );

    // With this start's client secret, the server completes Initech's sign-in at the IdP.
    const receipt = async (id: string) => {
      const response = await fetch(`http://127.0.0.1:${String(ports.server)}/v1/decisions/${id}`, {
        headers: { authorization: `Bearer ${admin}` },
      });
      expect(response.status).toBe(200);
      return (await response.json()) as { outcome: string };
    };
    const withMfa = await signInAtInitech(ports, "mfa");
    expect(await receipt(withMfa)).toMatchObject({ outcome: "allow" });
    const passwordOnly = await signInAtInitech(ports, "pwd");
    expect((await receipt(passwordOnly)).outcome).not.toBe("allow");
  });

  it("refuses a demo port that is not a port number, before starting anything", async () => {
    const result = await serve(["--db", "sqlite::memory:", "--demo-idp-port", "http"]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("--demo-idp-port");
    expect(result.running).toBeUndefined();
  });
});
