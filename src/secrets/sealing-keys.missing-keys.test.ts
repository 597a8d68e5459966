/**
 * Threat: a server started without a key that sealed secrets in its store: a rotation done out of
 * order (the old key dropped from `encryptionKeys` before `tenant-mfa secrets reseal` ran), an
 * instance given other keys than its peers on the shared PostgreSQL, or keys left out of the
 * configuration altogether. It started as if nothing were wrong: every TOTP secret, OIDC client
 * secret, assurance-token signing key and pending sign-in's PKCE verifier sealed with the missing
 * key answered `secret.unavailable` (503) at first use, users were locked out one by one, and new
 * secrets were sealed beside the stranded ones. Opening the store now refuses (exit code 2), naming
 * each missing key and how many values of each kind it seals, found by counting in the store (no
 * value is opened); with the key configured again it opens, and once everything is re-sealed (the
 * PKCE verifiers of the sign-ins under way too) the old key may go at once: a sign-in sent to the
 * IdP before the rotation still completes at its callback.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS } from "../app/context.js";
import { clientSecretContext } from "../app/federation/endpoints.js";
import { createProgram } from "../cli/program.js";
import { buildServer } from "../http/build-server.js";
import { browserCookie } from "../http/test-support/browser-cookie.js";
import { callerOf } from "../http/test-support/open-test-server.js";
import {
  RETURN_URL,
  auditOf,
  callback,
  callbackFor,
  createTenant,
  publicUrlOf,
  registerPeer,
  type FederationServer,
} from "../http/test-support/oidc-federation.js";
import { openApplication, SealingKeysMissing, type OpenedApplication } from "../main.js";
import { oidcIdp } from "../storage/contract/fixtures.js";
import {
  REFEDS_MFA,
  startOidcProviderPeer,
  type OidcProviderPeer,
} from "../verifiers/oidc/test-support/oidc-provider-peer.js";
import {
  createTestDatabase,
  findUnreachableReason,
  type TestDatabase,
} from "../storage/postgres/test-support/test-database.js";
import { createAesGcmSealer } from "./aes-gcm-sealer.js";
import { decodeKeys } from "./sealing-keys.js";
import { describeStoreUrl } from "../storage/store-url.js";
import { beginTotpEnrolment, storePendingOidcSignIn } from "./test-support/sealed-values.js";

const exemptions = DEFAULT_SETTINGS.exemptions;
const key = (id: string) => ({ id, key: randomBytes(32).toString("base64") });
const K1 = key("k1");
const K2 = key("k2");

const inCi = (process.env.CI ?? "") !== "" && process.env.CI !== "false";
const unreachable = await findUnreachableReason();
const skipPostgres = unreachable !== undefined && !inCi;
if (skipPostgres) {
  console.warn(`\n*** Missing sealing keys on PostgreSQL NOT tested: ${unreachable ?? ""} ***\n`);
}

const databases: TestDatabase[] = [];
let peer: OidcProviderPeer;
beforeAll(async () => {
  peer = await startOidcProviderPeer();
});
afterAll(async () => {
  await peer.close();
  for (const database of databases.splice(0)) await database.drop();
});

const STORES = [
  {
    name: "SQLite",
    skip: false,
    db: () =>
      Promise.resolve(`sqlite:${join(mkdtempSync(join(tmpdir(), "tenant-mfa-keys-")), "s.db")}`),
  },
  {
    name: "PostgreSQL",
    skip: skipPostgres,
    db: async () => {
      const database = await createTestDatabase();
      databases.push(database);
      return database.url;
    },
  },
];

async function run(args: readonly string[], env: Record<string, string>) {
  const result = { exitCode: 0, stdout: "", stderr: "" };
  await createProgram({
    env,
    stdout: { write: (text: string) => (result.stdout += text) },
    stderr: { write: (text: string) => (result.stderr += text) },
    setExitCode: (code) => {
      result.exitCode = code;
    },
    // Should a server start after all, it is closed at once (and the test fails on its output).
    onServing: (running) => void running.close(),
  }).parseAsync(["node", "tenant-mfa", ...args]);
  return result;
}

/**
 * Serves the application opened over `db` with `keys` (OIDC IdPs reached on loopback, the peer's
 * callback as public URL), as `serve` builds it, to `work`, with a new platform administrator.
 */
async function serving<T>(
  db: string,
  keys: readonly (typeof K1)[],
  work: (server: FederationServer) => Promise<T>,
): Promise<T> {
  const opened = await openApplication(
    { db, exemptions, encryptionKeys: [...keys], publicUrl: publicUrlOf(peer) },
    undefined,
    { allowLoopbackHttpIdps: true },
  );
  const server = buildServer({
    app: opened.app,
    config: { bodyLimitBytes: 64 * 1024, logLevel: "silent", publicUrl: publicUrlOf(peer) },
  });
  try {
    const { secret } = await opened.bootstrap({ name: "operator", force: true });
    return await work({ call: callerOf(server), adminKey: secret });
  } finally {
    await server.close();
    await opened.close();
  }
}

const refusalOf = (opening: Promise<OpenedApplication>): Promise<unknown> =>
  opening.then(
    async (opened) => {
      await opened.close();
      return undefined;
    },
    (error: unknown) => error,
  );

/**
 * A store holding one value of each kind sealed with k1: a TOTP secret and a signing key made by
 * the application, an OIDC IdP's client secret and a pending sign-in's PKCE verifier stored as
 * the federation stores them (registering a real IdP would fetch its discovery document).
 */
async function storeSealedWithK1(db: string): Promise<void> {
  const opened = await openApplication({ db, exemptions, encryptionKeys: [K1] });
  try {
    await beginTotpEnrolment(opened);
    await opened.app.assurance.jwks();
    const sealer = createAesGcmSealer(decodeKeys([K1]));
    const secret = sealer.seal("client-secret", clientSecretContext("acme", "okta"));
    await opened.store.transaction((r) =>
      r.idps.put(oidcIdp("acme", "okta", secret, new Date().toISOString())),
    );
    await storePendingOidcSignIn(opened, sealer, "fed_pending");
  } finally {
    await opened.close();
  }
}

for (const { name, skip, db: makeDb } of STORES) {
  describe.skipIf(skip)(
    `a ${name} store opened without a key that sealed its secrets${skip ? " (skipped: no PostgreSQL reachable)" : ""}`,
    () => {
      it("is refused, naming the key and what it seals, until the key is configured again", async () => {
        const db = await makeDb();
        await storeSealedWithK1(db);

        const error = await refusalOf(openApplication({ db, exemptions, encryptionKeys: [K2] }));
        expect(error, "the store was opened").toBeInstanceOf(Error);
        expect(error).toBeInstanceOf(SealingKeysMissing);
        const message = (error as Error).message;
        expect(message).toMatch(
          /holds secrets sealed with keys that are not among the configured encryptionKeys: k1 \(1 TOTP secret, 1 OIDC client secret, 1 assurance-token signing key, 1 PKCE verifier of a pending OIDC sign-in, the last expiring at \d{4}-\d\d-\d\dT[\d:.]+Z\)\. /,
        );
        expect(message).toContain("secrets reseal");
        expect(message).not.toContain("k2");
        expect(message).not.toContain(K1.key);
        // Named as every message names a store: a PostgreSQL URL's password masked, its query left
        // out (store-url.test.ts).
        expect(message).toContain(`the store ${describeStoreUrl(db)} holds`);
        expect((error as SealingKeysMissing).missing.map((missing) => missing.keyId)).toEqual([
          "k1",
        ]);

        // The server refuses to start, with the exit code of a configuration problem.
        const env = { TENANT_MFA_ENCRYPTION_KEYS: JSON.stringify([K2]) };
        const serve = await run(["serve", "--db", db, "--port", "18432"], env);
        expect(serve.exitCode).toBe(2);
        expect(serve.stdout).toBe("");
        expect(serve.stderr).toContain("k1 (1 TOTP secret");

        // With k1 among the keys again, it opens; re-sealed (the pending sign-in's PKCE verifier
        // too), nothing is sealed with k1: it may go at once.
        const rotating = await openApplication({ db, exemptions, encryptionKeys: [K2, K1] });
        try {
          expect(await rotating.resealSecrets("operator")).toMatchObject({
            totpSecrets: 1,
            idpClientSecrets: 1,
            pkceVerifiers: 1,
            signingKeys: 1,
          });
        } finally {
          await rotating.close();
        }
        const opened = await openApplication({ db, exemptions, encryptionKeys: [K2] });
        try {
          expect((await opened.app.assurance.jwks()).keys).toHaveLength(1);
        } finally {
          await opened.close();
        }
      });

      // The rotation as documented: the new key first, the old one kept, `secrets reseal`, then
      // the old key dropped at once, while a user is at the IdP. The PKCE verifier of that sign-in
      // was sealed with the old key: left so, the server refused to start without it for the
      // request lifetime, and the sign-in failed.
      it("opens with the new key alone right after secrets reseal, and a sign-in started before completes", async () => {
        const db = await makeDb();
        const browser = browserCookie("R");
        const started = await serving(db, [K1], async (server) => {
          await createTenant(server, "acme", "idp_mfa");
          const registered = await registerPeer(server, server.adminKey, "acme", peer);
          expect(registered.statusCode).toBe(201);
          peer.nextSignIn = { accountId: "alice", acr: REFEDS_MFA, amr: ["pwd", "mfa"] };
          return callbackFor(server, peer, { cookie: browser });
        });

        const rotating = await openApplication({ db, exemptions, encryptionKeys: [K2, K1] });
        try {
          expect(await rotating.resealSecrets("cli:secrets reseal")).toMatchObject({
            idpClientSecrets: 1,
            pkceVerifiers: 1,
          });
        } finally {
          await rotating.close();
        }

        await serving(db, [K2], async (server) => {
          const answered = await callback(server, started.path, started.cookie);
          expect(answered.statusCode, answered.body).toBe(303);
          const location = new URL(String(answered.headers.location));
          expect(`${location.origin}${location.pathname}`).toBe(RETURN_URL);
          expect(location.searchParams.get("decision")).toMatch(/^dec_/);
          const decided = await auditOf(server, server.adminKey, "acme", "decision.recorded");
          expect(decided.map((event) => event.payload["outcome"])).toEqual(["allow"]);
          const resealed = await auditOf(server, server.adminKey, "acme", "secrets.resealed");
          expect(resealed.map((event) => [event.actor, event.payload])).toEqual([
            ["cli:secrets reseal", { kind: "idp_client_secret", count: 1 }],
            ["cli:secrets reseal", { kind: "pkce_verifier", count: 1 }],
          ]);
          // Answered once: the callback replayed is refused.
          const replayed = await callback(server, started.path, started.cookie, {
            accept: "application/json",
          });
          expect([replayed.statusCode, replayed.json<{ code: string }>().code]).toEqual([
            400,
            "federation.request_unknown",
          ]);
        });
      });

      it("leaves reading commands alone: audit verify needs no key", async () => {
        const db = await makeDb();
        await storeSealedWithK1(db);
        const verify = await run(["audit", "verify", "--db", db], {
          TENANT_MFA_ENCRYPTION_KEYS: JSON.stringify([K2]),
        });
        expect(verify.stderr).toBe("");
        expect(verify.exitCode).toBe(0);
        expect(verify.stdout).toMatch(/^ok: /);
      });
    },
  );
}

describe.skipIf(skipPostgres)(
  `a PostgreSQL store holding sealed secrets, opened with no keys at all${skipPostgres ? " (skipped: no PostgreSQL reachable)" : ""}`,
  () => {
    it("is refused, saying that no keys are configured", async () => {
      const database = await createTestDatabase();
      databases.push(database);
      await storeSealedWithK1(database.url);
      const error = await refusalOf(openApplication({ db: database.url, exemptions }));
      expect(error, "the store was opened").toBeInstanceOf(Error);
      expect(error).toBeInstanceOf(SealingKeysMissing);
      expect((error as Error).message).toMatch(
        /holds secrets sealed with keys, and no encryptionKeys are configured: k1 \(1 TOTP secret, /,
      );
    });
  },
);
