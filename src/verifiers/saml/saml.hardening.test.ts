/**
 * Threat: the parser as attack surface (checklist S20, S21; CVE-2026-41673): external entities
 * reading files or making requests, entity expansion, oversized or deeply nested documents, and
 * input that is not base64, UTF-8 or XML. All are refused before any library parses the bytes.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  SP,
  idpResponse,
  outcomeOf,
  protocol,
  testIdp,
  verification,
} from "./test-support/scenario.js";
import { createSamlProtocol } from "./index.js";
import { decode, encode } from "./test-support/tamper.js";

const RESPONSE_OPEN =
  '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r" Version="2.0">';

describe("DOCTYPE and entities (S20)", () => {
  let requests = 0;
  const server = createServer((_req, res) => {
    requests += 1;
    res.end("<x/>");
  });
  let port = 0;
  beforeAll(async () => {
    await new Promise<void>((resolve) => {
      server.listen(0, "127.0.0.1", resolve);
    });
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
  });

  it("refuses XXE with a SYSTEM file entity and never reveals the file", async () => {
    const secretFile = join(mkdtempSync(join(tmpdir(), "saml-xxe-")), "secret.txt");
    writeFileSync(secretFile, "TOP-SECRET-XXE-CONTENT");
    const xml = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://${secretFile}">]>${RESPONSE_OPEN}&x;</samlp:Response>`;
    const result = await protocol.verifyResponse(
      SP,
      testIdp().settings(),
      verification(encode(xml)),
    );
    expect(!result.ok && result.rejection.code).toBe("saml.doctype_forbidden");
    expect(JSON.stringify(result)).not.toContain("TOP-SECRET");
  });

  it("refuses XXE with an http entity and makes no request", async () => {
    const xml = `<!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:${port}/xxe">]>${RESPONSE_OPEN}&x;</samlp:Response>`;
    expect(await outcomeOf(encode(xml))).toBe("saml.doctype_forbidden");
    const external = `<!DOCTYPE r SYSTEM "http://127.0.0.1:${port}/dtd">${RESPONSE_OPEN}</samlp:Response>`;
    expect(await outcomeOf(encode(external))).toBe("saml.doctype_forbidden");
    expect(requests).toBe(0);
  });

  it("refuses billion laughs quickly", async () => {
    const entities = Array.from(
      { length: 9 },
      (_, i) => `<!ENTITY l${i + 1} "${`&l${i};`.repeat(10)}">`,
    ).join("");
    const xml = `<!DOCTYPE r [<!ENTITY l0 "lol">${entities}]>${RESPONSE_OPEN}&l9;</samlp:Response>`;
    const started = performance.now();
    expect(await outcomeOf(encode(xml))).toBe("saml.doctype_forbidden");
    expect(performance.now() - started).toBeLessThan(1000);
  });

  for (const variant of ["<!doctype r>", "<!DocType r>", "<!\n  DOCTYPE r>", "<!ENTITY x 'y'>"]) {
    it(`refuses the declaration variant ${JSON.stringify(variant)}`, async () => {
      expect(await outcomeOf(encode(`${variant}${RESPONSE_OPEN}</samlp:Response>`))).toBe(
        "saml.doctype_forbidden",
      );
    });
  }

  it("refuses a DOCTYPE added to a genuine signed response", async () => {
    const xml = decode(await idpResponse());
    const withDoctype = `<!DOCTYPE samlp:Response [<!ENTITY e "x">]>${xml.replace(/^<\?xml[^>]*\?>/, "")}`;
    expect(await outcomeOf(encode(withDoctype))).toBe("saml.doctype_forbidden");
  });
});

describe("size and depth (S21)", () => {
  it("refuses a response above 256 KiB decoded", async () => {
    const padding = `<!--${"x".repeat(300 * 1024)}-->`;
    const xml = decode(await idpResponse()).replace("<samlp:Status>", `${padding}<samlp:Status>`);
    expect(await outcomeOf(encode(xml))).toBe("saml.too_large");
  });

  it("refuses a 20 MB post before decoding it", async () => {
    const started = performance.now();
    expect(await outcomeOf("A".repeat(20 * 1024 * 1024))).toBe("saml.too_large");
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("refuses elements nested deeper than the limit", async () => {
    const deep = `${"<a>".repeat(200)}${"</a>".repeat(200)}`;
    const xml = decode(await idpResponse()).replace("<samlp:Status>", `${deep}<samlp:Status>`);
    expect(await outcomeOf(encode(xml))).toBe("saml.too_large");
  });

  it("honours a smaller configured limit", async () => {
    const strict = createSamlProtocol({ maxResponseBytes: 1024 });
    const result = await strict.verifyResponse(
      SP,
      testIdp().settings(),
      verification(await idpResponse()),
    );
    expect(!result.ok && result.rejection.code).toBe("saml.too_large");
  });
});

describe("encoding and well-formedness", () => {
  const cases: Record<string, string> = {
    "characters outside base64": "PHNhbWxwOlJlc3BvbnNl!!",
    // A whole Response without its padding: a lenient decoder (Node's) reads it as the XML.
    "a length that is not a multiple of four": encode(`${RESPONSE_OPEN}</samlp:Response>`).replace(
      /=+$/,
      "",
    ),
    "non-canonical trailing bits": "QR==",
    "an empty value": "",
    "text that is not XML": encode("hello, this is not XML"),
    "unterminated XML": encode(RESPONSE_OPEN),
    "invalid UTF-8": Buffer.from([0x3c, 0xff, 0xfe, 0x3e]).toString("base64"),
    "a NUL character": encode(`${RESPONSE_OPEN}\u0000</samlp:Response>`),
    "another root element": encode(
      '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_a" Version="2.0"/>',
    ),
    "an unbound prefix": encode('<samlp:Response ID="_r" Version="2.0"/>'),
  };
  for (const [label, value] of Object.entries(cases)) {
    it(`refuses ${label} as saml.malformed`, async () => {
      expect(await outcomeOf(value)).toBe("saml.malformed");
    });
  }

  it("accepts a genuine response wrapped at 76 columns, as some IdPs post it", async () => {
    const wrapped = (await idpResponse()).replace(/.{76}/g, "$&\r\n");
    expect(await outcomeOf(wrapped)).toBe("ok");
  });

  it("never throws and never accepts arbitrary input", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string(), fc.string().map(encode), fc.base64String()),
        async (input) => {
          const result = await protocol.verifyResponse(
            SP,
            testIdp().settings(),
            verification(input),
          );
          expect(result.ok).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });
});
