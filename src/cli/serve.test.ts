import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../config/load-config.js";
import { startServer, type RunningServer } from "../main.js";
import { prepareDemo } from "./seed-demo.js";

// Port 0: the operating system picks a free port; the configuration schema itself requires 1+.
const config = {
  ...loadConfig({ env: {}, overrides: { db: "sqlite::memory:" } }),
  port: 0,
  logLevel: "silent" as const,
};

let running: RunningServer | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe("startServer", () => {
  it("listens on 127.0.0.1 and answers /healthz over real HTTP", async () => {
    running = await startServer(config, { handleSignals: false });
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(`${running.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
    const ready = await fetch(`${running.url}/readyz`);
    expect(ready.status).toBe(200);
  });

  it("answers malformed JSON over the wire with a 400 problem", async () => {
    let secret = "";
    running = await startServer(config, {
      handleSignals: false,
      seed: async (opened) => {
        secret = (await opened.bootstrap({ name: "test" })).secret;
      },
    });
    const response = await fetch(`${running.url}/v1/tenants`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${secret}` },
      body: '{"id": "acme",',
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(await response.json()).toMatchObject({ code: "request.invalid" });
  });

  it("seeds the demo data before listening, usable with the printed keys", async () => {
    const lines: string[] = [];
    running = await startServer(config, {
      handleSignals: false,
      seed: async (opened) => {
        await prepareDemo(opened, (line) => lines.push(line));
      },
    });
    const secretOf = (name: string) =>
      lines
        .find((line) => line.trimStart().startsWith(name))
        ?.trim()
        .split(/\s+/)
        .at(-1) ?? "";
    const admin = secretOf("demo platform admin");
    expect(admin).toMatch(/^tmfa_/);
    const tenants = await fetch(`${running.url}/v1/tenants`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    const body = (await tenants.json()) as { items: { id: string }[] };
    expect(body.items.map((x) => x.id)).toEqual(["acme", "globex", "initech"]);

    const decision = await fetch(`${running.url}/v1/tenants/acme/decisions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${secretOf("demo platform service")}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({
        principal: { id: "breakglass" },
        evidence: {
          events: [{ method: "password", source: "platform", at: new Date().toISOString() }],
        },
      }),
    });
    expect(decision.status).toBe(201);
    expect(await decision.json()).toMatchObject({
      outcome: "allow",
      exemption: { breakGlass: true },
    });
  });
});
