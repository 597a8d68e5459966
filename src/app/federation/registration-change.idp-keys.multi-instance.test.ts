// Threat: an OIDC IdP's signing key leaks; the IdP withdraws it and the tenant registers the IdP
// again through one instance, to stop trusting what the key signs. Another instance sharing
// PostgreSQL, which verified a sign-in with that key before, keeps its own key set for the
// issuer (ten minutes): within a second of the change (its sign-in settings cache's bound), it
// must refuse a token the withdrawn key signed, as the instance that made the change does. Each
// instance has its own OIDC relying party, as each process does; the IdP is the stub, a real
// HTTP IdP that serves its JWKS and signs what the test asks.
import { afterAll, beforeAll, expect, it } from "vitest";
import { createOidcProtocol } from "../../verifiers/oidc/index.js";
import {
  mfaClaims,
  startStubIdp,
  type StubIdp,
} from "../../verifiers/oidc/test-support/stub-idp.js";
import type { Application, FederationRedirect } from "../application.js";
import { AppError } from "../errors.js";
import { requireMfaAtIdp, testFederationParts } from "../test-support/federation-parts.js";
import { CountingRandom } from "../test-support/harness.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";

const RETURN_TO = "https://app.acme.example/signed-in";
const BROWSER = "browser-of-alice";

describeOnPostgres(
  {
    title: "an OIDC IdP registered again on one instance, its withdrawn key on another",
    skippedTitle: "an OIDC IdP registered again on one instance",
    tests: "multi-instance OIDC registration tests",
  },
  () => {
    let stub: StubIdp;
    let two: TwoInstances | undefined;
    let other: (Application & { close(): Promise<void> }) | undefined;

    beforeAll(async () => {
      stub = await startStubIdp();
      two = await openTwoInstances();
      const { first } = two;
      // The other instance: the second's store, its own relying party (its own caches).
      other = first.application({
        store: two.secondStore,
        random: new CountingRandom(2_000_000),
        federation: testFederationParts({
          secrets: first.sealer,
          oidc: createOidcProtocol({ allowHttp: true }),
        }),
      });
      await requireMfaAtIdp(first, RETURN_TO);
      await first.app.idps.put(first.admin, "acme", "corp", {
        registration: { protocol: "oidc", oidc: stub.idp },
        ifMatch: undefined,
      });
    });
    afterAll(async () => {
      await other?.close();
      await two?.close();
      await stub.close();
    });

    /** A sign-in started and answered on `app`, its ID token signed with the stub's first key. */
    async function signIn(app: Application): Promise<string> {
      if (two === undefined) throw new Error("no instances");
      const started = await app.federation.start("acme", "corp", {
        returnTo: RETURN_TO,
        browser: BROWSER,
      });
      const authorization = new URL(started.location);
      const state = authorization.searchParams.get("state") ?? "";
      const now = Math.floor(two.first.clock.now().getTime() / 1000);
      stub.nextIdToken = await stub.sign(mfaClaims(stub, authorization, "alice", now));
      let answered: FederationRedirect;
      try {
        answered = await app.federation.oidcCallback("acme", "corp", {
          callbackUrl: `https://mfa.test/t/acme/idps/corp/oidc/callback?code=the-code&state=${encodeURIComponent(state)}`,
          state,
          browser: BROWSER,
        });
      } catch (error) {
        if (error instanceof AppError) return `refused: ${error.code}`;
        throw error;
      }
      const decision = new URL(answered.location).searchParams.get("decision");
      if (decision === null) return `no decision: ${answered.location}`;
      const receipt = await two.first.app.decisions.receipt(two.first.admin, decision);
      return receipt.outcome;
    }

    it("refuses the withdrawn key on the other instance within a second", async () => {
      if (two === undefined || other === undefined) throw new Error("not set up");
      const { first } = two;
      expect(await signIn(other)).toBe("allow");
      stub.publishedKeys = [];
      // Unchanged, the registration keeps the other instance's set (within its ten minutes).
      expect(await signIn(other)).toBe("allow");

      await first.app.idps.put(first.admin, "acme", "corp", {
        registration: { protocol: "oidc", oidc: stub.idp },
        ifMatch: 1,
      });
      first.clock.advance(1);
      expect(await signIn(other)).toBe("refused: federation.rejected");
      const refusals = await first.app.audit.list(
        first.admin,
        "acme",
        { type: "federation.rejected" },
        { limit: 10 },
      );
      expect(refusals.items.map((event) => event.payload)).toMatchObject([
        { reason: "oidc.key_unknown" },
      ]);
    });
  },
);
