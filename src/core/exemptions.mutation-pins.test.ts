/**
 * Which exemption a decision uses and how it reports it, pinned where a mutation survey found it
 * unpinned: the choice never depends on the order the caller listed exemptions in.
 */
import { describe, expect, it } from "vitest";
import { ago, decide, exemption } from "./test-support/fixtures.js";

describe("choosing among usable exemptions", () => {
  it("uses the one that lasts longest, whatever the order", () => {
    const short = exemption({ id: "ex-short", expiresAt: ago(-600) });
    const long = exemption({ id: "ex-long", expiresAt: ago(-7200) });
    expect(decide({ exemptions: [short, long] }).exemption?.id).toBe("ex-long");
    expect(decide({ exemptions: [long, short] }).exemption?.id).toBe("ex-long");
  });

  it("between two that end together, uses the lowest id, whatever the order", () => {
    const a = exemption({ id: "ex-a" });
    const b = exemption({ id: "ex-b" });
    expect(decide({ exemptions: [a, b] }).exemption?.id).toBe("ex-a");
    expect(decide({ exemptions: [b, a] }).exemption?.id).toBe("ex-a");
  });
});

describe("the exemption a decision reports", () => {
  it("reports its expiry in UTC when it was written with an offset", () => {
    const d = decide({ exemptions: [exemption({ expiresAt: "2026-11-23T15:00:00+02:00" })] });
    expect(d.outcome).toBe("allow");
    expect(d.exemption?.expiresAt).toBe("2026-11-23T13:00:00.000Z");
  });
});
