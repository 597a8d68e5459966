import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { noStore } from "./api-context.js";

describe("noStore", () => {
  it("marks the answer no-store and hands it back unchanged", async () => {
    const server = Fastify();
    const answer = { challenge: "c2VjcmV0" };
    server.get("/", (_request, reply) => {
      expect(noStore(reply, answer)).toBe(answer);
      return answer;
    });
    const response = await server.inject({ method: "GET", url: "/" });
    expect(response.headers["cache-control"]).toBe("no-store");
    expect(response.json()).toEqual(answer);
    await server.close();
  });
});
