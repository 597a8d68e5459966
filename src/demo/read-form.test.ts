import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { readForm } from "./read-form.js";

const posted = (...chunks: string[]) =>
  Readable.from(chunks.map((chunk) => Buffer.from(chunk))) as unknown as IncomingMessage;

describe("readForm", () => {
  it("reads a form posted in several chunks", async () => {
    const form = await readForm(posted("username=alice&meth", "od=mfa&csrf=a%2Bb"));
    expect(Object.fromEntries(form)).toEqual({ username: "alice", method: "mfa", csrf: "a+b" });
  });

  it("reads a body over 8 KiB as an empty form", async () => {
    const form = await readForm(posted("username=alice&padding=", "x".repeat(8 * 1024)));
    expect([...form]).toEqual([]);
  });

  it("still reads a body of exactly 8 KiB", async () => {
    const body = `csrf=${"x".repeat(8 * 1024 - 5)}`;
    const form = await readForm(posted(body));
    expect(form.get("csrf")).toHaveLength(8 * 1024 - 5);
  });
});
