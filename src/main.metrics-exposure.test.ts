// Threat: `/metrics` left open beyond loopback without anyone deciding it (see
// src/config/metrics-exposure-warning.test.ts). The server says so in its log as it starts, once,
// and never writes the token when one is set.
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "./config/load-config.js";
import { startServer, type RunningServer } from "./main.js";

const TOKEN = "mtk_Zm9yLXRoZS1tZXRyaWNzLW9ubHktMzItYnl0ZXM";

let running: RunningServer | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function start(env: Record<string, string>) {
  const lines: string[] = [];
  const logger = pino(
    { level: "info" },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString("utf8"));
        done();
      },
    }),
  );
  const config = { ...loadConfig({ env: { TENANT_MFA_DB: "sqlite::memory:", ...env } }), port: 0 };
  running = await startServer(config, { handleSignals: false, logger });
  const warnings = lines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((record) => record["level"] === 40)
    .map((record) => String(record["msg"]))
    .filter((msg) => msg.includes("/metrics"));
  return { warnings, log: lines.join("") };
}

describe("the server's start", () => {
  it("warns once when /metrics is open and the server listens beyond loopback", async () => {
    const { warnings } = await start({ TENANT_MFA_HOST: "0.0.0.0" });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/TENANT_MFA_METRICS_TOKEN/);
  });

  it("says nothing on loopback", async () => {
    expect((await start({ TENANT_MFA_HOST: "127.0.0.1" })).warnings).toEqual([]);
  });

  it("says nothing when a token guards /metrics, and never logs the token", async () => {
    const { warnings, log } = await start({
      TENANT_MFA_HOST: "0.0.0.0",
      TENANT_MFA_METRICS_TOKEN: TOKEN,
    });
    expect(warnings).toEqual([]);
    expect(log).not.toContain(TOKEN);
    if (running === undefined) throw new Error("not running");
    const port = new URL(running.url).port;
    const url = `http://127.0.0.1:${port}/metrics`;
    expect((await fetch(url)).status).toBe(401);
    const answered = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(answered.status).toBe(200);
  });
});
