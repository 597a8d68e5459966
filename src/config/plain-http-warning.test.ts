// Threat: a deployment reached over plain http beyond loopback, where the browser-binding cookie
// cannot be `__Host-` and a sibling subdomain can plant a known value (login CSRF, flow fixation).
// The server cannot refuse it outright (the default public URL of `--host 0.0.0.0` is plain
// http), so it says so at start.
import { describe, expect, it } from "vitest";
import { plainHttpWarning } from "./plain-http-warning.js";

describe("the warning about a plain-http public URL", () => {
  it.each([
    "http://mfa.example.com",
    "http://mfa.example.com:8080/base",
    "http://0.0.0.0:8080",
    "http://10.0.0.5:8080",
    "http://[2001:db8::1]:8080",
    "http://localhost.example.com",
  ])("warns for %s", (url) => {
    expect(plainHttpWarning(url)).toMatch(/plain http beyond loopback/);
  });

  it.each([
    "https://mfa.example.com",
    "http://localhost:8080",
    "http://LOCALHOST:8080",
    "http://acme.localhost:8080",
    "http://127.0.0.1:8080",
    "http://127.1.2.3",
    "http://[::1]:8080",
    "http://[::ffff:127.0.0.1]:8080",
  ])("says nothing for %s", (url) => {
    expect(plainHttpWarning(url)).toBeUndefined();
  });
});
