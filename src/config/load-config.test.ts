import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AttestationVendor } from "../verifiers/webauthn/test-support/attestation-ca.js";
import { ConfigError, loadConfig } from "./load-config.js";
import { problemsOf } from "./test-support/config-problems.js";

const dir = mkdtempSync(join(tmpdir(), "tenant-mfa-config-"));
/** 32 bytes in base64: what an encryption key must be. */
const KEY_32_BYTES = "c2VjcmV0LWtleS1vZi10aGlydHktdHdvLWJ5dGVzISE=";
function writeConfig(name: string, content: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}

describe("loadConfig", () => {
  it("gives the documented defaults when nothing is set", () => {
    expect(loadConfig({ env: {} })).toEqual({
      db: "sqlite:./data/tenant-mfa.db",
      port: 8080,
      host: "127.0.0.1",
      logLevel: "info",
      bodyLimitBytes: 256 * 1024,
      trustProxy: false,
      idpNetwork: "public",
      oidc: { cacheMaxBytes: 32 * 1024 * 1024, lookupSlots: 2 },
      exemptions: {
        maxDays: 90,
        breakGlassMaxDays: 7,
        maxRenewals: 2,
        maxActivePerTenant: 100,
        maxLeadDays: 30,
      },
      rateLimit: { enabled: true, max: 300, windowSeconds: 60, maxAddresses: 100_000 },
      totp: { enrolmentTtlSeconds: 600 },
      decisions: { requireVerifiedEvidence: false },
      webauthn: { attestationRoots: [] },
      metrics: {},
      store: { statementTimeoutMs: 30_000 },
    });
  });

  it("layers the file, then the environment, then the command line", () => {
    const file = writeConfig("layers.json", {
      db: "postgres://db/file",
      port: 9000,
      host: "0.0.0.0",
      exemptions: { maxDays: 30, maxRenewals: 1 },
    });
    const config = loadConfig({
      file,
      env: {
        TENANT_MFA_PORT: "9001",
        TENANT_MFA_EXEMPTIONS_MAX_DAYS: "45",
        TENANT_MFA_EXEMPTIONS_MAX_LEAD_DAYS: "7",
        OTHER: "x",
      },
      overrides: { port: "9002", db: "sqlite::memory:" },
    });
    expect(config.db).toBe("sqlite::memory:");
    expect(config.port).toBe(9002);
    expect(config.host).toBe("0.0.0.0");
    expect(config.exemptions).toEqual({
      maxDays: 45,
      breakGlassMaxDays: 7,
      maxRenewals: 1,
      maxActivePerTenant: 100,
      maxLeadDays: 7,
    });
  });

  it("returns a deep-frozen object", () => {
    const config = loadConfig({ env: {} });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.exemptions)).toBe(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it("names the bad key and where its value came from", () => {
    const problems = problemsOf(() => loadConfig({ env: { TENANT_MFA_PORT: "eighty" } }));
    expect(problems).toEqual([
      "port: expected a number between 1 and 65535 (from TENANT_MFA_PORT)",
    ]);
    const error = (() => {
      try {
        loadConfig({ env: {}, overrides: { port: "70000" } });
      } catch (e) {
        return e as ConfigError;
      }
      return undefined;
    })();
    expect(error?.message).toContain(
      "port: expected a number between 1 and 65535 (from command line)",
    );
  });

  it("reports every problem at once, including unknown keys in the file", () => {
    const file = writeConfig("bad.json", {
      port: 0,
      logLevel: "loud",
      db: "mysql://nope",
      exemptions: { maxDays: "ninety", maxDayz: 3 },
      colour: "blue",
    });
    const problems = problemsOf(() =>
      loadConfig({ file, env: { TENANT_MFA_BODY_LIMIT_BYTES: "-1" } }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        `port: expected a number between 1 and 65535 (from file ${file})`,
        expect.stringMatching(/^logLevel: expected one of fatal, error, .*\(from file /),
        `db: expected sqlite:PATH, sqlite::memory: or postgres://… (from file ${file})`,
        `exemptions.maxDays: expected a number of days between 1 and 3650 (from file ${file})`,
        `exemptions.maxDayz: unknown key (from file ${file})`,
        `colour: unknown key (from file ${file})`,
        "bodyLimitBytes: expected a number of bytes between 1024 and 16777216 (from TENANT_MFA_BODY_LIMIT_BYTES)",
      ]),
    );
    expect(problems).toHaveLength(7);
  });

  it("rejects a file that is not JSON or not an object", () => {
    const notJson = writeConfig("not-json.json", "{ port: 1");
    expect(problemsOf(() => loadConfig({ file: notJson, env: {} }))[0]).toMatch(
      /^config file .*not-json\.json: not valid JSON/,
    );
    // V8 quotes an excerpt of the text in some messages: a config file holds the store's password.
    const secret = writeConfig(
      "secret.json",
      '{\n  "db": postgres://u:s3cret-pw@db.internal/mfa }',
    );
    const unquoted = problemsOf(() => loadConfig({ file: secret, env: {} }))[0];
    expect(unquoted).toBe(`config file ${secret}: not valid JSON (Unexpected token)`);
    const trailing = writeConfig("trailing.json", '{\n  "db": "sqlite:x",\n}');
    expect(problemsOf(() => loadConfig({ file: trailing, env: {} }))[0]).toBe(
      `config file ${trailing}: not valid JSON (Expected double-quoted property name at line 3, column 1)`,
    );
    const list = writeConfig("list.json", [1, 2]);
    expect(problemsOf(() => loadConfig({ file: list, env: {} }))).toEqual([
      `config file ${list}: expected a JSON object`,
    ]);
    expect(problemsOf(() => loadConfig({ file: join(dir, "missing.json"), env: {} }))).toEqual([
      `config file ${join(dir, "missing.json")}: cannot be read (ENOENT)`,
    ]);
  });

  it("reads JSON from the environment", () => {
    const config = loadConfig({
      env: { TENANT_MFA_ENCRYPTION_KEYS: JSON.stringify([{ id: "k1", key: KEY_32_BYTES }]) },
    });
    expect(config.encryptionKeys).toEqual([{ id: "k1", key: KEY_32_BYTES }]);
  });
});

// Threat: a client forges `X-Forwarded-For` to pick the address that per-address limits count
// against. Only the proxies named here are believed; nothing that trusts the whole header, or a
// hop count that cannot tell a proxy from a client reaching the server directly, is accepted.
describe("loadConfig: idpNetwork", () => {
  it("takes public or any, from the environment too, and names anything else", () => {
    expect(loadConfig({ env: { TENANT_MFA_IDP_NETWORK: "any" } }).idpNetwork).toBe("any");
    expect(problemsOf(() => loadConfig({ env: { TENANT_MFA_IDP_NETWORK: "private" } }))).toEqual([
      'idpNetwork: expected "public" or "any" (from TENANT_MFA_IDP_NETWORK)',
    ]);
  });
});

describe("loadConfig: oidc.cacheMaxBytes", () => {
  it("takes a number of bytes from 1 MiB to 1 GiB, from the environment too, and names anything else", () => {
    const env = (value: string) => ({ env: { TENANT_MFA_OIDC_CACHE_MAX_BYTES: value } });
    expect(loadConfig(env("8388608")).oidc.cacheMaxBytes).toBe(8 * 1024 * 1024);
    expect(problemsOf(() => loadConfig(env("65536")))).toEqual([
      "oidc.cacheMaxBytes: expected a number of bytes between 1048576 and 1073741824 (from TENANT_MFA_OIDC_CACHE_MAX_BYTES)",
    ]);
  });
});

describe("loadConfig: oidc.lookupSlots", () => {
  it("takes a whole number of lookups from 1 to 64, from the environment and the file", () => {
    const env = (value: string) => ({ env: { TENANT_MFA_OIDC_LOOKUP_SLOTS: value } });
    expect(loadConfig(env("3")).oidc.lookupSlots).toBe(3);
    expect(loadConfig(env("1")).oidc.lookupSlots).toBe(1);
    expect(loadConfig(env("64")).oidc.lookupSlots).toBe(64);
    const file = writeConfig("lookup-slots.json", { oidc: { lookupSlots: 8 } });
    expect(loadConfig({ file, env: {} }).oidc).toEqual({
      cacheMaxBytes: 32 * 1024 * 1024,
      lookupSlots: 8,
    });
  });

  it.each(["0", "65", "2.5", "-1", "two"])(
    "refuses %s at load, naming the setting, its range and the variable",
    (value) => {
      expect(
        problemsOf(() => loadConfig({ env: { TENANT_MFA_OIDC_LOOKUP_SLOTS: value } })),
      ).toEqual([
        value === "two"
          ? expect.stringMatching(/^oidc\.lookupSlots: .*\(from TENANT_MFA_OIDC_LOOKUP_SLOTS\)$/)
          : "oidc.lookupSlots: expected a number of lookups between 1 and 64 (from TENANT_MFA_OIDC_LOOKUP_SLOTS)",
      ]);
    },
  );

  it("is reported with the other bad oidc setting, all at once", () => {
    const file = writeConfig("lookup-slots-bad.json", {
      oidc: { lookupSlots: 0, cacheMaxBytes: 1 },
    });
    expect([...problemsOf(() => loadConfig({ file, env: {} }))].sort()).toEqual([
      `oidc.cacheMaxBytes: expected a number of bytes between 1048576 and 1073741824 (from file ${file})`,
      `oidc.lookupSlots: expected a number of lookups between 1 and 64 (from file ${file})`,
    ]);
  });
});

// Threat: every hosted-flow, ACS, metadata and redirect URL, and the token issuer, is publicUrl
// with a path appended; a query or fragment in it breaks each of them, and user-info in it is a
// credential published in every SAML metadata document and redirect.
describe("loadConfig: publicUrl", () => {
  it("takes an http(s) base URL, a path too, without its trailing slashes", () => {
    const publicUrlOf = (url: string) =>
      loadConfig({ env: { TENANT_MFA_PUBLIC_URL: url } }).publicUrl;
    expect(publicUrlOf("https://mfa.example.com/")).toBe("https://mfa.example.com");
    expect(publicUrlOf("https://mfa.example.com/base//")).toBe("https://mfa.example.com/base");
    expect(publicUrlOf("http://127.0.0.1:8080")).toBe("http://127.0.0.1:8080");
  });

  it.each([
    ["a query", "https://mfa.example.com/?x=1"],
    ["an empty query", "https://mfa.example.com/?"],
    ["a fragment", "https://mfa.example.com/#f"],
    ["an empty fragment", "https://mfa.example.com#"],
    ["a user and password", "https://u:p@mfa.example.com"],
    ["a user", "https://u@mfa.example.com/"],
  ])("refuses a publicUrl with %s, naming publicUrl", (_, url) => {
    expect(problemsOf(() => loadConfig({ env: { TENANT_MFA_PUBLIC_URL: url } }))).toEqual([
      "publicUrl: expected an http(s) base URL without query, fragment or user-info (from TENANT_MFA_PUBLIC_URL)",
    ]);
  });

  it("still refuses what is not a URL with the one problem", () => {
    expect(problemsOf(() => loadConfig({ env: { TENANT_MFA_PUBLIC_URL: "not a url" } }))).toEqual([
      "publicUrl: expected an http(s) URL (from TENANT_MFA_PUBLIC_URL)",
    ]);
  });

  it("still refuses a URL of another scheme, and names it from the file", () => {
    expect(
      problemsOf(() =>
        loadConfig({
          file: writeConfig("ftp.json", { publicUrl: "ftp://mfa.example.com" }),
          env: {},
        }),
      ),
    ).toEqual([
      expect.stringMatching(/^publicUrl: expected an http\(s\) URL \(from .*ftp\.json\)$/),
    ]);
  });
});

describe("loadConfig: rateLimit", () => {
  it("reads every key from the environment, the file and the command line", () => {
    expect(
      loadConfig({
        env: {
          TENANT_MFA_RATE_LIMIT_ENABLED: "false",
          TENANT_MFA_RATE_LIMIT_MAX: "1200",
          TENANT_MFA_RATE_LIMIT_WINDOW_SECONDS: "30",
          TENANT_MFA_RATE_LIMIT_MAX_ADDRESSES: "5000",
        },
      }).rateLimit,
    ).toEqual({ enabled: false, max: 1200, windowSeconds: 30, maxAddresses: 5000 });
    const file = writeConfig("rate-limit.json", { rateLimit: { max: 600 } });
    expect(
      loadConfig({ file, env: {}, overrides: { rateLimit: { windowSeconds: "120" } } }).rateLimit,
    ).toEqual({
      enabled: true,
      max: 600,
      windowSeconds: 120,
      maxAddresses: 100_000,
    });
  });

  it("names each bad value with its key and where it came from", () => {
    expect(
      problemsOf(() =>
        loadConfig({
          env: {
            TENANT_MFA_RATE_LIMIT_ENABLED: "sometimes",
            TENANT_MFA_RATE_LIMIT_MAX: "0",
            TENANT_MFA_RATE_LIMIT_WINDOW_SECONDS: "a minute",
            TENANT_MFA_RATE_LIMIT_MAX_ADDRESSES: "10",
          },
        }),
      ),
    ).toEqual([
      "rateLimit.enabled: expected true or false (from TENANT_MFA_RATE_LIMIT_ENABLED)",
      "rateLimit.max: expected a number of requests between 1 and 1000000 (from TENANT_MFA_RATE_LIMIT_MAX)",
      "rateLimit.windowSeconds: expected a number of seconds between 1 and 86400 (from TENANT_MFA_RATE_LIMIT_WINDOW_SECONDS)",
      "rateLimit.maxAddresses: expected a number of addresses between 1000 and 10000000 (from TENANT_MFA_RATE_LIMIT_MAX_ADDRESSES)",
    ]);
    const file = writeConfig("bad-rate-limit.json", { rateLimit: { max: -5, perMinute: 10 } });
    expect(problemsOf(() => loadConfig({ file, env: {} }))).toEqual(
      expect.arrayContaining([
        `rateLimit.max: expected a number of requests between 1 and 1000000 (from file ${file})`,
        `rateLimit.perMinute: unknown key (from file ${file})`,
      ]),
    );
  });
});

describe("loadConfig: totp.enrolmentTtlSeconds", () => {
  it("takes a TOTP enrolment's time from the environment, 60 to 3600 seconds", () => {
    const env = { TENANT_MFA_TOTP_ENROLMENT_TTL_SECONDS: "300" };
    expect(loadConfig({ env }).totp).toEqual({ enrolmentTtlSeconds: 300 });
    for (const seconds of ["59", "3601", "ten minutes"]) {
      expect(
        problemsOf(() => loadConfig({ env: { TENANT_MFA_TOTP_ENROLMENT_TTL_SECONDS: seconds } })),
      ).toEqual([
        "totp.enrolmentTtlSeconds: expected a number of seconds between 60 and 3600 (from TENANT_MFA_TOTP_ENROLMENT_TTL_SECONDS)",
      ]);
    }
  });
});

describe("loadConfig: store.statementTimeoutMs", () => {
  it("takes the serving pool's statement timeout from the file or the environment, 0 to disable it", () => {
    const file = writeConfig("timeout.json", { store: { statementTimeoutMs: 5000 } });
    expect(loadConfig({ file, env: {} }).store).toEqual({ statementTimeoutMs: 5000 });
    const env = { TENANT_MFA_STORE_STATEMENT_TIMEOUT_MS: "0" };
    expect(loadConfig({ file, env }).store).toEqual({ statementTimeoutMs: 0 });
  });

  it("refuses what is not 0 to 3600000 milliseconds", () => {
    for (const value of ["-1", "3600001", "1.5", "30s"]) {
      expect(
        problemsOf(() => loadConfig({ env: { TENANT_MFA_STORE_STATEMENT_TIMEOUT_MS: value } })),
        value,
      ).toEqual([
        "store.statementTimeoutMs: expected a number of milliseconds between 0 and 3600000 (from TENANT_MFA_STORE_STATEMENT_TIMEOUT_MS)",
      ]);
    }
  });
});

describe("loadConfig: webauthn.attestationRoots", () => {
  it("takes PEM certificates and base64 DER, from the file and the environment", async () => {
    const { rootPem } = await AttestationVendor.create();
    const der = rootPem.replace(/-----[A-Z ]+-----|\s/g, "");
    const file = writeConfig("roots.json", { webauthn: { attestationRoots: [rootPem, der] } });
    expect(loadConfig({ file, env: {} }).webauthn.attestationRoots).toEqual([rootPem, der]);
    const env = { TENANT_MFA_WEBAUTHN_ATTESTATION_ROOTS: JSON.stringify([der]) };
    expect(loadConfig({ env }).webauthn.attestationRoots).toEqual([der]);
  });

  it("names each entry that is not a certificate, with the others", async () => {
    const { rootPem } = await AttestationVendor.create();
    const broken = rootPem.replace(/[A-Za-z]{20}/, "AAAAAAAAAAAAAAAAAAAA");
    const file = writeConfig("bad-roots.json", {
      webauthn: { attestationRoots: [rootPem, "yubico root", broken, 7] },
    });
    const expected = (index: number) =>
      `webauthn.attestationRoots.${String(index)}: expected PEM certificates, or one certificate's DER in base64 (as FIDO MDS lists attestationRootCertificates) (from file ${file})`;
    expect(problemsOf(() => loadConfig({ file, env: {} }))).toEqual([
      expected(1),
      expected(2),
      expected(3),
    ]);
  });
});

describe("loadConfig: webauthn.verificationThreads", () => {
  it("is left to the server by default, and taken from the file or the environment", () => {
    expect(loadConfig({ env: {} }).webauthn.verificationThreads).toBeUndefined();
    const file = writeConfig("threads.json", { webauthn: { verificationThreads: 0 } });
    expect(loadConfig({ file, env: {} }).webauthn.verificationThreads).toBe(0);
    const env = { TENANT_MFA_WEBAUTHN_VERIFICATION_THREADS: "3" };
    expect(loadConfig({ file, env }).webauthn.verificationThreads).toBe(3);
  });

  it("refuses a count that is not 0 to 64", () => {
    for (const value of ["65", "-1", "1.5", "two"]) {
      expect(
        problemsOf(() => loadConfig({ env: { TENANT_MFA_WEBAUTHN_VERIFICATION_THREADS: value } })),
        value,
      ).toEqual([
        expect.stringMatching(
          /^webauthn\.verificationThreads: .*TENANT_MFA_WEBAUTHN_VERIFICATION_THREADS/,
        ),
      ]);
    }
  });
});

describe("loadConfig: trustProxy", () => {
  const TRUE_REFUSED =
    "trustProxy: true would believe every X-Forwarded-For entry, which clients can forge: list the addresses or CIDR ranges of the proxies in front of the server instead";
  const HOPS_REFUSED =
    "trustProxy: a hop count cannot tell a proxy from a client that reaches the server directly (Fastify no longer honours one): list the addresses or CIDR ranges of the proxies in front of the server instead";

  it("reads false, or a comma-separated list of proxy addresses, from the environment", () => {
    const cases: [string, unknown][] = [
      ["false", false],
      ["no", false],
      ["0", false],
      ["10.0.0.0/8,192.168.0.1", ["10.0.0.0/8", "192.168.0.1"]],
      [" 10.0.0.1 , fd00::/8, ", ["10.0.0.1", "fd00::/8"]],
      ["::1", ["::1"]],
      ["loopback,uniquelocal", ["loopback", "uniquelocal"]],
    ];
    for (const [text, expected] of cases) {
      const config = loadConfig({ env: { TENANT_MFA_TRUST_PROXY: text } });
      expect(config.trustProxy, text).toEqual(expected);
    }
  });

  it("reads a list from the file and from the command line, and freezes it", () => {
    const file = writeConfig("proxies.json", {
      trustProxy: ["10.0.0.0/8", "172.16.0.0/12", "2001:db8::/32", "::ffff:10.1.2.3", "linklocal"],
    });
    const fromFile = loadConfig({ file, env: {} });
    expect(fromFile.trustProxy).toEqual([
      "10.0.0.0/8",
      "172.16.0.0/12",
      "2001:db8::/32",
      "::ffff:10.1.2.3",
      "linklocal",
    ]);
    expect(Object.isFrozen(fromFile.trustProxy)).toBe(true);
    const fromCli = loadConfig({
      file,
      env: {},
      overrides: { trustProxy: "192.0.2.10,192.0.2.11" },
    });
    expect(fromCli.trustProxy).toEqual(["192.0.2.10", "192.0.2.11"]);
    expect(loadConfig({ file, env: {}, overrides: { trustProxy: "false" } }).trustProxy).toBe(
      false,
    );
  });

  it("refuses true, explaining what to give instead", () => {
    for (const text of ["true", "yes", "TRUE"]) {
      expect(
        problemsOf(() => loadConfig({ env: { TENANT_MFA_TRUST_PROXY: text } })),
        text,
      ).toEqual([`${TRUE_REFUSED} (from TENANT_MFA_TRUST_PROXY)`]);
    }
    const file = writeConfig("trust-all.json", { trustProxy: true });
    expect(problemsOf(() => loadConfig({ file, env: {} }))).toEqual([
      `${TRUE_REFUSED} (from file ${file})`,
    ]);
  });

  it("refuses a hop count, explaining what to give instead", () => {
    for (const text of ["1", "2"]) {
      expect(
        problemsOf(() => loadConfig({ env: { TENANT_MFA_TRUST_PROXY: text } })),
        text,
      ).toEqual([`${HOPS_REFUSED} (from TENANT_MFA_TRUST_PROXY)`]);
    }
    const file = writeConfig("hops.json", { trustProxy: 1 });
    expect(problemsOf(() => loadConfig({ file, env: {} }))).toEqual([
      `${HOPS_REFUSED} (from file ${file})`,
    ]);
  });

  it("names every entry that is not an address, a CIDR range or a named range, with the others", () => {
    const file = writeConfig("bad-proxies.json", {
      port: 0,
      trustProxy: [
        "10.0.0.1",
        "proxy.internal",
        "10.0.0.0/33",
        "10.0.0.0/0",
        "2001:db8::/129",
        "10.0.0.0/255.0.0.0",
        "010.0.0.1",
        " 10.0.0.2",
        "",
        7,
      ],
    });
    const from = `(from file ${file})`;
    expect(problemsOf(() => loadConfig({ file, env: {} }))).toEqual(
      expect.arrayContaining([
        `port: expected a number between 1 and 65535 ${from}`,
        ...[
          [1, "proxy.internal"],
          [2, "10.0.0.0/33"],
          [3, "10.0.0.0/0"],
          [4, "2001:db8::/129"],
          [5, "10.0.0.0/255.0.0.0"],
          [6, "010.0.0.1"],
          [7, " 10.0.0.2"],
          [8, ""],
        ].map(
          ([index, entry]) =>
            `trustProxy.${index}: ${JSON.stringify(entry)} is not an IP address, a CIDR range (address/prefix length) or one of loopback, linklocal, uniquelocal ${from}`,
        ),
        `trustProxy.9: expected an IP address or CIDR range ${from}`,
      ]),
    );
    expect(problemsOf(() => loadConfig({ file, env: {} }))).toHaveLength(10);
    expect(
      problemsOf(() => loadConfig({ env: { TENANT_MFA_TRUST_PROXY: "10.0.0.1,maybe" } })),
    ).toEqual([
      'trustProxy.1: "maybe" is not an IP address, a CIDR range (address/prefix length) or one of loopback, linklocal, uniquelocal (from TENANT_MFA_TRUST_PROXY)',
    ]);
  });

  it("refuses an empty list and values of another type", () => {
    const empty = writeConfig("no-proxies.json", { trustProxy: [] });
    expect(problemsOf(() => loadConfig({ file: empty, env: {} }))).toEqual([
      `trustProxy: expected at least one proxy address (false trusts none) (from file ${empty})`,
    ]);
    expect(problemsOf(() => loadConfig({ env: { TENANT_MFA_TRUST_PROXY: "," } }))).toEqual([
      "trustProxy: expected at least one proxy address (false trusts none) (from TENANT_MFA_TRUST_PROXY)",
    ]);
    for (const value of ["10.0.0.1", { hops: 1 }, null]) {
      const file = writeConfig("odd-proxies.json", { trustProxy: value });
      expect(
        problemsOf(() => loadConfig({ file, env: {} })),
        JSON.stringify(value),
      ).toEqual([
        `trustProxy: expected false or a list of proxy addresses or CIDR ranges (from file ${file})`,
      ]);
    }
  });
});
