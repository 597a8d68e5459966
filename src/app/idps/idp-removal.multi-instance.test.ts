// Threat: an administrator removes an IdP through one instance while another replaces it through
// a second, both sharing PostgreSQL (READ COMMITTED). The removal reads version 1, then its
// compare-and-set waits on the row the replacement holds and, once that commits, finds version 2.
// Sent without `If-Match`, the removal asked for no version: it removes the IdP as it stands, as
// documented (docs/federation.md), auditing the version it took away; it must not answer a 412
// for a precondition nobody sent. Sent with `If-Match: "1"`, it is refused as a stale one is,
// naming the version that stands (details.currentVersion), and the new registration is kept.
// A second replacement under the same `If-Match: "1"` is refused the same way, naming version 2.
import { afterEach, beforeEach, expect, it } from "vitest";
import type { Application } from "../application.js";
import { AppError } from "../errors.js";
import {
  openPausableInstance,
  waitsOnLock,
  type PausableInstance,
} from "../test-support/pausable-store.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";
import type { Harness } from "../test-support/harness.js";
import { TestIdp } from "../../verifiers/saml/test-support/test-idp.js";

const idp = new TestIdp({ entityId: "https://idp.acme.example/saml" });
const registration = (allowUnsolicited: boolean) => ({
  protocol: "saml" as const,
  saml: { metadataXml: idp.metadataXml(), allowUnsolicited },
});

describeOnPostgres(
  {
    title: "an IdP removed on one instance while another replaces it",
    skippedTitle: "an IdP removed while another instance replaces it",
    tests: "the multi-instance IdP removal race tests",
  },
  () => {
    let two: TwoInstances;
    let first: Harness;
    let second: Application;
    let paused: PausableInstance<"put">;

    beforeEach(async () => {
      two = await openTwoInstances();
      ({ first, second } = two);
      paused = await openPausableInstance(two, { put: "idps" });
      await first.app.idps.put(first.admin, "acme", "corp", {
        registration: registration(false),
        ifMatch: undefined,
      });
    });
    afterEach(async () => {
      await paused.close();
      await two.close();
    });

    /**
     * Replaces corp on the paused instance, its transaction held open after its write, then
     * removes corp on the second under `ifMatch`; answers the removal's outcome.
     */
    async function removeWhileReplaced(ifMatch: number | undefined) {
      const gate = paused.pauseAt("put");
      const replaced = paused.app.idps.put(first.admin, "acme", "corp", {
        registration: registration(true),
        ifMatch: 1,
      });
      await gate.reached;
      const removal = second.idps
        .remove(first.admin, "acme", "corp", ifMatch === undefined ? {} : { ifMatch })
        .then(
          () => ({ code: "removed", details: undefined }),
          (error: unknown) => {
            if (!(error instanceof AppError)) throw error;
            return { code: error.code, details: error.details };
          },
        );
      expect(await waitsOnLock(two.database.name, removal)).toBe(true);
      gate.release();
      await replaced;
      return removal;
    }

    const removedVersions = async () =>
      (await first.app.audit.list(first.admin, "acme", { type: "idp.removed" }, {})).items.map(
        (event) => event.payload["version"],
      );

    it("removes the replacement when the removal named no version", async () => {
      expect(await removeWhileReplaced(undefined)).toEqual({ code: "removed", details: undefined });
      await expect(first.app.idps.get(first.admin, "acme", "corp")).rejects.toMatchObject({
        code: "not_found",
      });
      expect(await removedVersions()).toEqual([2]);
    });

    it("refuses a removal whose If-Match the replacement made stale, naming the version standing", async () => {
      expect(await removeWhileReplaced(1)).toEqual({
        code: "idp.version_conflict",
        details: { currentVersion: 2 },
      });
      expect(await first.app.idps.get(first.admin, "acme", "corp")).toMatchObject({ version: 2 });
      expect(await removedVersions()).toEqual([]);
    });

    it("refuses a replacement whose If-Match the other replacement made stale, naming the version standing", async () => {
      const gate = paused.pauseAt("put");
      const replaced = paused.app.idps.put(first.admin, "acme", "corp", {
        registration: registration(true),
        ifMatch: 1,
      });
      await gate.reached;
      const rival = second.idps
        .put(first.admin, "acme", "corp", { registration: registration(false), ifMatch: 1 })
        .then(
          () => ({ code: "replaced", details: undefined }),
          (error: unknown) => {
            if (!(error instanceof AppError)) throw error;
            return { code: error.code, details: error.details };
          },
        );
      expect(await waitsOnLock(two.database.name, rival)).toBe(true);
      gate.release();
      await replaced;
      expect(await rival).toEqual({ code: "idp.version_conflict", details: { currentVersion: 2 } });
      expect(await first.app.idps.get(first.admin, "acme", "corp")).toMatchObject({
        version: 2,
        saml: { allowUnsolicited: true },
      });
    });
  },
);
