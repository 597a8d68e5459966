import { Agent, createServer, request } from "node:http";
import { describe, expect, it } from "vitest";
import { closeNow, listen } from "./listen.js";

describe("listen and closeNow", () => {
  it("listen gives the free port it got on loopback; a taken port rejects", async () => {
    const first = createServer((_req, res) => res.end("ok"));
    const port = await listen(first, 0);
    expect(port).toBeGreaterThan(0);
    expect(first.address()).toMatchObject({ address: "127.0.0.1", port });
    const second = createServer();
    await expect(listen(second, port)).rejects.toMatchObject({ code: "EADDRINUSE" });
    await closeNow(first);
    expect(first.listening).toBe(false);
  });

  it("closeNow does not wait for an idle keep-alive connection", async () => {
    const server = createServer((_req, res) => res.end("ok"));
    const port = await listen(server, 0);
    const agent = new Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      request({ port, host: "127.0.0.1", agent }, (res) => {
        res.resume();
        res.on("end", resolve);
      })
        .on("error", reject)
        .end();
    });
    await closeNow(server);
    expect(server.listening).toBe(false);
    agent.destroy();
  });
});
