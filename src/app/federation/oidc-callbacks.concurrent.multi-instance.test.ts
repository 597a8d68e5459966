// Threat: one remembered OIDC authorization request answered twice at once (DESIGN invariant 7):
// the browser's authorization request replayed or double-submitted at the IdP, so that the IdP
// issues two codes for it (same state, same nonce, same PKCE challenge), and the two redirects
// arrive at the callbacks of two instances sharing PostgreSQL, each code redeemed at the IdP and
// its ID token verified, and both turned into decisions: two receipts for one sign-in. Each round
// runs a real `oidc-provider` and forces the race without sleeps: both instances redeem their
// code and verify the ID token against the request as still pending (a barrier after
// verification), then one (the leader) consumes the request and holds its transaction open until
// the other is seen waiting on a lock, and only then commits. Exactly one callback turns into a
// decision (one receipt, one `decision.recorded`); the other reached the claim of the request
// too, found it used, and is refused as `federation.request_unknown` and audited, leaving nothing
// of its own behind (no second one-time proof of the nonce, no receipt, no held answer).
//
// The same callback URL replayed carries the same code, which the IdP redeems once: that case is
// left to federation-oidc.test.ts ("completes once when the same callback arrives twice").
import pg from "pg";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { createOidcProtocol } from "../../verifiers/oidc/index.js";
import { followToCallback } from "../../verifiers/oidc/test-support/browser.js";
import {
  REFEDS_MFA,
  startOidcProviderPeer,
  type OidcProviderPeer,
} from "../../verifiers/oidc/test-support/oidc-provider-peer.js";
import type { Application } from "../application.js";
import { AppError } from "../errors.js";
import type { AuditEvent } from "../records.js";
import { requireMfaAtIdp, testFederationParts } from "../test-support/federation-parts.js";
import {
  ForcedRace,
  openRacers,
  otherRacer,
  pausingAfter,
  type Racer,
  type Racers,
} from "../test-support/forced-race.js";
import type { Harness } from "../test-support/harness.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";
import type { OidcProtocol } from "./protocols.js";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const RETURN_TO = "https://app.acme.example/signed-in";
const ALICE = "alice";
const BROWSER = "browser-of-alice";

/** Where a callback sent the browser, or the code it was refused with. */
type Answer = { readonly location: string } | { readonly refused: string };

/** One racer's claim of the remembered request: whether its `consume` found it pending. */
interface Claim {
  readonly racer: Racer;
  readonly consumed: unknown;
}

describeOnPostgres(
  {
    title: "two answers to one OIDC request on two instances sharing PostgreSQL",
    skippedTitle: "two answers to one OIDC request on two instances",
    tests: "multi-instance OIDC callback tests",
  },
  () => {
    let two: TwoInstances | undefined;
    let first: Harness;
    let peer: OidcProviderPeer | undefined;
    let racers: Racers | undefined;
    let race: ForcedRace | undefined;
    const claims: Claim[] = [];

    /** The real verifier (code redeemed at the IdP, ID token checked), then the race's barrier. */
    const gated = (racer: Racer, real: OidcProtocol): OidcProtocol => ({
      ...real,
      async completeCallback(settings, options) {
        const verified = await real.completeCallback(settings, options);
        expect(verified, `${racer}'s callback verified`).toMatchObject({ ok: true });
        await race?.verified(racer);
        return verified;
      },
    });

    /** Each racer's claim of the request is noted; the leader's holds its transaction open. */
    const holdingAfterConsume = (racer: Racer) =>
      pausingAfter("federationRequests", "consume", async (consumed) => {
        if (race !== undefined) claims.push({ racer, consumed });
        if (consumed === true) await race?.wrote(racer);
      });

    beforeAll(async () => {
      peer = await startOidcProviderPeer();
      two = await openTwoInstances();
      ({ first } = two);
      await requireMfaAtIdp(first, RETURN_TO);
      await first.app.idps.put(first.admin, "acme", "corp", {
        registration: { protocol: "oidc", oidc: peer.idp },
        ifMatch: undefined,
      });
      // The peer's one redirect URI is `${issuer}/rp/t/acme/idps/corp/oidc/callback`.
      const publicUrl = `${peer.issuer}/rp`;
      racers = await openRacers(two, (name) => ({
        wrap: holdingAfterConsume(name),
        overrides: {
          federation: testFederationParts({
            secrets: first.sealer,
            publicUrl,
            oidc: gated(name, createOidcProtocol({ allowHttp: true })),
          }),
        },
      }));
    });
    afterAll(async () => {
      await racers?.close();
      await two?.close();
      await peer?.close();
    });

    const racer = (name: Racer): Application => {
      if (racers === undefined) throw new Error("no racers");
      return racers.get(name);
    };

    const auditOf = async (type: string): Promise<readonly AuditEvent[]> =>
      (await first.app.audit.list(first.admin, "acme", { type }, { limit: 500 })).items;

    /** Counts rows of the shared database, as no instance would read them. */
    async function countRows(query: string, values: readonly unknown[]): Promise<number> {
      if (two === undefined) throw new Error("no instances");
      const client = new pg.Client({ connectionString: two.database.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ count: string }>(query, [...values]);
        return Number(rows[0]?.count ?? Number.NaN);
      } finally {
        await client.end();
      }
    }

    /** Brings `callbackUrl` back from the IdP to `name`'s callback, in the sign-in's browser. */
    async function callback(name: Racer, callbackUrl: string): Promise<Answer> {
      const state = new URL(callbackUrl).searchParams.get("state") ?? "";
      try {
        return await racer(name).federation.oidcCallback("acme", "corp", {
          callbackUrl,
          state,
          browser: BROWSER,
        });
      } catch (error) {
        if (error instanceof AppError) return { refused: error.code };
        throw error;
      }
    }

    for (const leader of ["A", "B"] as const) {
      it(`turns exactly one of two valid callbacks for one request into a decision (${leader} first)`, async () => {
        if (two === undefined || peer === undefined) throw new Error("no instances");
        // The peer stamps iat and auth_time with the real time; the instances read the test clock.
        first.clock.advance((Date.now() - first.clock.now().getTime()) / 1000);
        peer.nextSignIn = { accountId: ALICE, acr: REFEDS_MFA, amr: ["pwd", "mfa"] };
        const started = await racer("A").federation.start("acme", "corp", {
          returnTo: RETURN_TO,
          principal: ALICE,
          browser: BROWSER,
        });
        const authorization = new URL(started.location);
        const state = authorization.searchParams.get("state") ?? "";
        const nonce = authorization.searchParams.get("nonce") ?? "";
        expect(state).not.toBe("");
        // The one authorization request, sent to the IdP twice: two codes, one state and nonce.
        const callbacks = {
          A: await followToCallback(authorization.href, peer.redirectUri),
          B: await followToCallback(authorization.href, peer.redirectUri),
        };
        const params = (name: Racer) => new URL(callbacks[name]).searchParams;
        expect(params("A").get("state")).toBe(state);
        expect(params("B").get("state")).toBe(state);
        expect(params("A").get("code")).not.toBe(params("B").get("code"));

        const decidedBefore = (await auditOf("decision.recorded")).length;
        const refusedBefore = (await auditOf("federation.rejected")).length;
        const receiptsBefore = await countRows(
          "select count(*) from receipts where tenant = 'acme' and principal = $1",
          [ALICE],
        );
        claims.length = 0;

        race = new ForcedRace(leader);
        // The leader consumes the request and holds its transaction while the follower, which
        // verified its ID token against the request as still pending, queues behind it.
        const answers = await race.run(two.database.name, {
          A: () => callback("A", callbacks.A),
          B: () => callback("B", callbacks.B),
        });
        race = undefined;

        // Both reached the claim of the request: the leader first, the follower after its commit.
        const follower = otherRacer(leader);
        expect(claims).toEqual([
          { racer: leader, consumed: true },
          { racer: follower, consumed: false },
        ]);
        const won = answers[leader];
        const lost = answers[follower];
        expect(lost).toEqual({ refused: "federation.request_unknown" });
        if (won === undefined || !("location" in won)) throw new Error(JSON.stringify(won));
        const back = new URL(won.location);
        expect(`${back.origin}${back.pathname}`).toBe(RETURN_TO);
        const decision = back.searchParams.get("decision") ?? "";
        expect(decision).toMatch(/^dec_/);

        // One decision, recorded with its receipt; one refusal audited, naming the request.
        const decided = (await auditOf("decision.recorded")).slice(decidedBefore);
        expect(decided.map((e) => e.payload)).toEqual([
          expect.objectContaining({ decision, principal: ALICE, outcome: "allow" }),
        ]);
        const receipt = await first.app.decisions.receipt(first.admin, decision);
        expect(receipt).toMatchObject({ id: decision, principal: ALICE, outcome: "allow" });
        const refused = (await auditOf("federation.rejected")).slice(refusedBefore);
        expect(refused.map((e) => e.payload)).toEqual([
          expect.objectContaining({
            protocol: "oidc",
            reason: "federation.request_unknown",
            request: state,
          }),
        ]);

        // Nothing half-done: the request used, its nonce used once, one receipt, nothing held.
        const request = await first.store.read((r) => r.federationRequests.get(state));
        expect(request?.consumedAt).toBeDefined();
        expect(
          await countRows("select count(*) from one_time_proofs where scope = $1 and key = $2", [
            `oidc:acme:corp:${peer.issuer}`,
            nonce,
          ]),
        ).toBe(1);
        expect(
          await countRows(
            "select count(*) from receipts where tenant = 'acme' and principal = $1",
            [ALICE],
          ),
        ).toBe(receiptsBefore + 1);
        expect(
          await countRows("select count(*) from federation_answers where tenant = 'acme'", []),
        ).toBe(0);
      });
    }

    it("leaves an audit chain that verifies", async () => {
      expect(await first.app.audit.verify(first.admin, { tenant: "acme" })).toMatchObject({
        ok: true,
      });
    });
  },
);
