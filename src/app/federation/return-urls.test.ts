import { describe, expect, it } from "vitest";
import { matchReturnUrl, returnUrlProblem, withQueryParameter } from "./return-urls.js";

const registered = ["https://app.acme.example/signed-in", "http://127.0.0.1:3000/"];

describe("return_to matching (DESIGN invariant 10)", () => {
  it.each([
    "https://app.acme.example/signed-in",
    "https://app.acme.example/signed-in/deeper?x=1",
    "http://127.0.0.1:3000/anything",
    "https://app.acme.example/signed-in/caf%C3%A9?next=%2Fhome",
  ])("accepts %s", (candidate) => {
    expect(matchReturnUrl(registered, candidate)?.href).toBeDefined();
  });

  it.each([
    ["another host", "https://evil.example/signed-in"],
    ["a look-alike host", "https://app.acme.example.evil.example/signed-in"],
    ["a shared prefix that is not a path segment", "https://app.acme.example/signed-in-evil"],
    ["another scheme", "http://app.acme.example/signed-in"],
    ["another port", "https://app.acme.example:8443/signed-in"],
    ["scheme-relative", "//evil.example/signed-in"],
    ["a relative path", "/signed-in"],
    ["user info", "https://app.acme.example@evil.example/signed-in"],
    ["user info on the right host", "https://user:pw@app.acme.example/signed-in"],
    ["a backslash", "https://app.acme.example\\@evil.example/signed-in"],
    ["javascript", "javascript:alert(1)//https://app.acme.example/signed-in"],
    ["data", "data:text/html,hi"],
    ["a tab", "https://app.acme.example/signed-in\t"],
    ["dot segments climbing out", "https://app.acme.example/signed-in/../admin"],
    ["an encoded slash climbing out", "https://app.acme.example/signed-in/..%2Fadmin"],
    ["an encoded slash, lower case", "https://app.acme.example/signed-in/..%2fadmin"],
    ["an encoded backslash climbing out", "https://app.acme.example/signed-in/..%5Cadmin"],
    ["a doubly encoded dot segment", "https://app.acme.example/signed-in/%252e%252e/admin"],
    // Tomcat and Jetty strip a path parameter (`;…`) from each segment before resolving dots.
    ["a dot segment with a path parameter", "https://app.acme.example/signed-in/..;/admin"],
    [
      "a dot segment with a named path parameter",
      "https://app.acme.example/signed-in/..;x=1/admin",
    ],
    [
      "an encoded dot segment with a path parameter",
      "https://app.acme.example/signed-in/%2e%2E;/admin",
    ],
    ["a mixed dot segment with a path parameter", "https://app.acme.example/signed-in/.%2e;/admin"],
    ["empty", ""],
  ])("refuses %s", (_name, candidate) => {
    expect(matchReturnUrl(registered, candidate)).toBeUndefined();
  });

  it("refuses everything when nothing is registered", () => {
    expect(matchReturnUrl([], "https://app.acme.example/signed-in")).toBeUndefined();
  });
});

describe("registering return URLs", () => {
  it.each([
    ["http on a public host", "http://app.acme.example/", "https"],
    ["a relative URL", "/x", "absolute"],
    ["a fragment", "https://a.example/#x", "fragment"],
    ["a query", "https://a.example/?x=1", "query"],
    ["user info", "https://u@a.example/", "user info"],
    ["another scheme", "ftp://a.example/", "absolute"],
  ])("refuses %s", (_name, value, problem) => {
    expect(returnUrlProblem(value)).toContain(problem);
  });
  it("accepts https and loopback http", () => {
    expect(returnUrlProblem("https://a.example/x")).toBeUndefined();
    expect(returnUrlProblem("http://localhost:8080/x")).toBeUndefined();
  });
});

it("adds a query parameter without losing the existing ones", () => {
  const url = new URL("https://a.example/x?keep=1");
  expect(withQueryParameter(url, "decision", "dec_1")).toBe(
    "https://a.example/x?keep=1&decision=dec_1",
  );
});
