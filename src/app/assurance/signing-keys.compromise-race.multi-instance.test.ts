// Threat: a signing key withdrawn from the JWK Set as compromised, published again. On PostgreSQL
// (READ COMMITTED) a rotation reads the published keys unheld, then moves each one's retirement:
// one on another instance that read them before a compromised rotation committed wrote its
// retirement over that one's, and the compromised key stayed in the JWK Set for the retention
// (a day), verifying whatever its thief signed. A rotation never moves a key's end later than it
// stands. One instance pauses a rotation right after it read the keys; another withdraws them.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Harness } from "../test-support/harness.js";
import { openPausableInstance, type PausableInstance } from "../test-support/pausable-store.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";

describeOnPostgres(
  {
    title: "a rotation that read the signing keys before a compromised rotation committed",
    skippedTitle: "a rotation racing a compromised rotation",
    tests: "the multi-instance signing-key compromise race test",
  },
  () => {
    let two: TwoInstances;
    let first: Harness;
    let paused: PausableInstance<"published">;

    beforeAll(async () => {
      two = await openTwoInstances();
      ({ first } = two);
      paused = await openPausableInstance(two, { published: "signingKeys" });
    });
    afterAll(async () => {
      await paused.close();
      await two.close();
    });

    /** The platform chain's `signing_key.retired` events of `kid`, oldest first. */
    const retirementsOf = async (kid: string) => {
      const { items } = await first.app.audit.list(
        first.admin,
        null,
        { type: "signing_key.retired" },
        { limit: 100 },
      );
      return items.filter((e) => e.payload["kid"] === kid);
    };

    it("keeps a compromised key out of the JWK Set when a rotation read it before", async () => {
      const [compromised] = (await first.app.assurance.jwks()).keys;
      if (compromised === undefined) throw new Error("no first key");

      const gate = paused.pauseAt("published");
      const rotating = paused.app.assurance.rotateSigningKey(first.admin, {});
      await gate.reached;
      // The rotation has read the compromised key as published, and holds nothing.
      first.clock.advance(1);
      const { kid: replacement } = await two.second.assurance.rotateSigningKey(first.admin, {
        compromised: true,
      });
      expect((await first.app.assurance.jwks()).keys.map((k) => k.kid)).not.toContain(
        compromised.kid,
      );
      gate.release();
      await rotating;

      const published = (await first.app.assurance.jwks()).keys.map((k) => k.kid);
      expect(published).toContain(replacement);
      expect(published).not.toContain(compromised.kid);
      first.clock.advance(3600);
      expect((await first.app.assurance.jwks()).keys.map((k) => k.kid)).not.toContain(
        compromised.kid,
      );
      // What the later rotation's event says is what it left: removed when the compromise was.
      const withdrawnAt = first.clock.now().getTime() - 3600 * 1000;
      for (const event of await retirementsOf(compromised.kid)) {
        expect(Date.parse(String(event.payload["removedAt"]))).toBeLessThanOrEqual(withdrawnAt);
      }
    });
  },
);
