// Threat: two administrators replace one of a tenant's settings at once, through two instances
// sharing PostgreSQL (READ COMMITTED), each from the same read and under the same `If-Match`. A
// check made on what a transaction reads before it holds anything passes for both: the second
// reads the settings the first has written but not yet committed as they were, and writes over
// them once the first commits, unseen. One instance pauses its replacement right after its write,
// its transaction open; the other replaces the settings then. The second must be refused.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Application } from "./application.js";
import { settingsEtag } from "./settings-precondition.js";
import type { Harness } from "./test-support/harness.js";
import {
  openPausableInstance,
  waitsOnLock,
  type PausableInstance,
} from "./test-support/pausable-store.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "./test-support/postgres-instances.js";
import { AppError } from "./errors.js";

const ORIGIN = "https://mfa.test";

describeOnPostgres(
  {
    title: "two replacements of a tenant's settings from one read, on two instances",
    skippedTitle: "two replacements of a tenant's settings from one read",
    tests: "the multi-instance settings If-Match race tests",
  },
  () => {
    let two: TwoInstances;
    let first: Harness;
    let second: Application;
    let paused: PausableInstance<"put" | "setReturnUrls">;

    beforeAll(async () => {
      two = await openTwoInstances();
      ({ first, second } = two);
      paused = await openPausableInstance(two, {
        put: "webauthnSettings",
        setReturnUrls: "tenants",
      });
    });
    afterAll(async () => {
      await paused.close();
      await two.close();
    });

    /**
     * Runs `write(paused.app)` until it has written, its transaction open, then `write(second)`
     * with the same precondition; answers the second's refusal (its code, or `accepted`) and the
     * `currentEtag` it named.
     */
    async function race(
      point: "put" | "setReturnUrls",
      writeFirst: (app: Application) => Promise<unknown>,
      writeSecond: (app: Application) => Promise<unknown>,
    ) {
      const gate = paused.pauseAt(point);
      const held = writeFirst(paused.app);
      await gate.reached;
      const later = writeSecond(second).then(
        () => ({ code: "accepted", details: undefined }),
        (error: unknown) => {
          if (!(error instanceof AppError)) throw error;
          return { code: error.code, details: error.details };
        },
      );
      // Queued behind the held transaction, or (without a lock) already done: either way on.
      await waitsOnLock(two.database.name, later);
      gate.release();
      await held;
      return later;
    }

    it("refuses the second WebAuthn settings written from one read, keeping the first's", async () => {
      const read = settingsEtag(await first.app.webauthn.settings(first.admin, "acme"));
      const settings = (userVerification: "required" | "preferred") => ({
        rpId: "mfa.test",
        origins: [ORIGIN],
        userVerification,
      });
      const refused = await race(
        "put",
        (app) =>
          app.webauthn.putSettings(first.admin, "acme", settings("required"), { ifMatch: [read] }),
        (app) =>
          app.webauthn.putSettings(first.admin, "acme", settings("preferred"), {
            ifMatch: [read],
          }),
      );
      const kept = await first.app.webauthn.settings(first.admin, "acme");
      expect(kept).toMatchObject({ source: "tenant", userVerification: "required" });
      expect(refused).toEqual({
        code: "webauthn.settings_conflict",
        details: { currentEtag: settingsEtag(kept) },
      });
    });

    it("refuses the second return URLs written from one read, keeping the first's", async () => {
      const read = settingsEtag(await first.app.tenants.get(first.admin, "acme"));
      const urls = (...returnUrls: string[]) => ({ returnUrls });
      const refused = await race(
        "setReturnUrls",
        (app) =>
          app.tenants.setReturnUrls(first.admin, "acme", urls("https://app.acme.example/"), {
            ifMatch: [read],
          }),
        (app) =>
          app.tenants.setReturnUrls(first.admin, "acme", urls("https://old.acme.example/"), {
            ifMatch: [read],
          }),
      );
      const kept = await first.app.tenants.get(first.admin, "acme");
      expect(kept.returnUrls).toEqual(["https://app.acme.example/"]);
      expect(refused).toEqual({
        code: "tenant.settings_conflict",
        details: { currentEtag: settingsEtag(kept) },
      });
    });
  },
);
