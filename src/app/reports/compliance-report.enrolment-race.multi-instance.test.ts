// Threat: a compliance report read on one instance while another instance adds or removes
// enrolments reports a state that never was (DESIGN: reports an auditor relies on): a principal
// who moves from TOTP to WebAuthn, having one of them at every instant, reported with neither (and
// listed as a direct user without platform MFA), a half-written change counted, a principal
// counted twice or missing, or the report waiting on the writer. The report reads the principals
// page by page, then every enrolment in one statement (enrolment-repository.ts: a UNION of the
// three kinds, one snapshot). Each step forces the overlap on PostgreSQL, without sleeps: the
// report pauses before that enrolment read; the writer instance runs one use case, either to its
// commit (committed between the pages and the read: it must count) or to just after its write,
// its transaction held open (seen `idle in transaction` while the read runs: it must not count,
// and must not make the read wait), committing only once the read returned. After each report the
// test compares it with a model of what was committed when the read ran: equal, every count.
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { SoftAuthenticator } from "../../verifiers/webauthn/test-support/soft-authenticator.js";
import { oathtoolCode } from "../../verifiers/totp/test-support/oathtool.js";
import { withAdmin } from "../../storage/postgres/test-support/test-database.js";
import type { Application, Caller } from "../application.js";
import type { Repositories } from "../ports.js";
import {
  deferred,
  openRacers,
  pausingAfter,
  type Deferred,
  type Racers,
} from "../test-support/forced-race.js";
import { provedMfaJustNow } from "../test-support/fresh-mfa.js";
import { enrolTotp } from "../test-support/totp-principals.js";
import type { Harness } from "../test-support/harness.js";
import {
  describeOnPostgres,
  openTwoInstances,
  type TwoInstances,
} from "../test-support/postgres-instances.js";
import type { PrincipalCoverage } from "./compliance-report.js";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const ORIGIN = "https://mfa.test";
/** The longest a report's enrolment read may take while a writer holds its transaction. */
const READ_WITHOUT_WAITING_MS = 10_000;

type Kind = "totp" | "webauthn" | "recoveryCodes";

/** A report with no write around its enrolment read. */
const writeNothing = (): Promise<void> => Promise.resolve();

/** The writes of an enrolment use case after which the writer's transaction is held open. */
const CONTESTED_WRITES = [
  ["webauthnCredentials", "insert"],
  ["authenticators", "activate"],
  ["authenticators", "remove"],
  ["recoveryCodes", "replace"],
  ["recoveryCodes", "revoke"],
] as const satisfies readonly (readonly [keyof Repositories, string])[];

describeOnPostgres(
  {
    title: "the compliance report's enrolment read, while another instance enrols (PostgreSQL)",
    skippedTitle: "the compliance report's enrolment read, while another instance enrols",
    tests: "multi-instance compliance report race tests",
  },
  () => {
    let two: TwoInstances | undefined;
    let first: Harness;
    let service: Caller;
    let racers: Racers | undefined;
    const key = new SoftAuthenticator({ origin: ORIGIN });
    /** The writer's hold: armed for one use case, released once the report's read returned. */
    let hold: { readonly holding: Deferred; readonly release: Deferred } | undefined;
    /** Run around the reporter's enrolment read, once armed. */
    let aroundRead: { before(): Promise<void>; after(): Promise<void> } | undefined;

    /** What was committed: each principal's population and kinds held. */
    const populations = new Map<string, "direct" | "sso">();
    const enrolled = new Map<string, Set<Kind>>();
    const model = (principal: string): Set<Kind> => {
      const kinds = enrolled.get(principal) ?? new Set<Kind>();
      enrolled.set(principal, kinds);
      return kinds;
    };

    const holdingAfterWrites = (r: Repositories): Repositories =>
      CONTESTED_WRITES.reduce(
        (wrapped, [repository, method]) =>
          pausingAfter(repository, method, async () => {
            const armed = hold;
            if (armed === undefined) return;
            hold = undefined;
            armed.holding.resolve();
            await armed.release.promise;
          })(wrapped),
        r,
      );

    const aroundEnrolmentRead = (r: Repositories): Repositories => ({
      ...r,
      enrolments: {
        async enrolledPrincipals(tenant) {
          const around = aroundRead;
          aroundRead = undefined;
          await around?.before();
          let timer: NodeJS.Timeout | undefined;
          const waited = new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              reject(new Error("the enrolment read waited for the writer"));
            }, READ_WITHOUT_WAITING_MS);
          });
          try {
            return await Promise.race([r.enrolments.enrolledPrincipals(tenant), waited]);
          } finally {
            clearTimeout(timer);
            await around?.after();
          }
        },
      },
    });

    beforeAll(async () => {
      two = await openTwoInstances();
      ({ first, service } = two);
      await first.app.webauthn.putSettings(first.admin, "acme", {
        rpId: "mfa.test",
        origins: [ORIGIN],
      });
      // A writes, B reports.
      racers = await openRacers(two, (name) => ({
        wrap: name === "A" ? holdingAfterWrites : aroundEnrolmentRead,
        overrides: {},
      }));

      // alice and bob hold TOTP, carol nothing, dave a passkey; erin signs in at the IdP.
      for (const [id, population] of [
        ["alice", "direct"],
        ["bob", "direct"],
        ["carol", "direct"],
        ["dave", "direct"],
        ["erin", "sso"],
      ] as const) {
        await first.app.principals.upsert(first.admin, "acme", id, { population });
        populations.set(id, population);
      }
      await enrolTotp(first, service, "acme", "alice");
      await enrolTotp(first, service, "acme", "bob");
      await registerPasskey(first.app, "dave");
      model("alice").add("totp");
      model("bob").add("totp");
      model("dave").add("webauthn");
    });
    afterAll(async () => {
      await racers?.close();
      await two?.close();
    });

    const instances = () => {
      if (racers === undefined) throw new Error("no instances");
      return { writer: racers.get("A"), reporter: racers.get("B") };
    };

    async function registerPasskey(app: Application, principal: string): Promise<void> {
      await provedMfaJustNow(first, "acme", principal);
      const begun = await app.webauthn.beginRegistration(service, "acme", principal);
      await app.webauthn.finishRegistration(service, "acme", principal, begun.registration, {
        response: key.register(begun.options),
      });
    }

    async function removeTotp(app: Application, principal: string): Promise<void> {
      const [totp] = (await app.authenticators.list(first.admin, "acme", principal)).filter(
        (a) => a.kind === "totp",
      );
      if (totp === undefined) throw new Error(`${principal} holds no TOTP`);
      await app.authenticators.remove(first.admin, "acme", principal, totp.id);
    }

    async function generateCodes(app: Application, principal: string): Promise<void> {
      await provedMfaJustNow(first, "acme", principal);
      await app.recoveryCodes.generate(service, "acme", principal);
    }

    /** The backends of the shared database inside a transaction, doing nothing: a held writer. */
    const idleInTransaction = (): Promise<number> =>
      withAdmin(async (client) => {
        const { rows } = await client.query<{ count: string }>(
          `select count(*) from pg_stat_activity
            where datname = $1 and state = 'idle in transaction'`,
          [two?.database.name],
        );
        return Number(rows[0]?.count ?? 0);
      });

    /**
     * A report by the reporter, with `write` (on the writer) done between its principals' pages
     * and its enrolment read: to its commit (`committed`), or to just after its contested write,
     * its transaction held open until the read has returned (`held`).
     */
    async function reportAround(
      mode: "committed" | "held",
      write: (app: Application) => Promise<void>,
    ): Promise<PrincipalCoverage> {
      const apps = instances();
      let writing: Promise<void> | undefined;
      let release: Deferred | undefined;
      let heldDuringRead = 0;
      aroundRead = {
        async before() {
          if (mode === "committed") {
            await write(apps.writer);
            return;
          }
          const armed = { holding: deferred(), release: deferred() };
          hold = armed;
          release = armed.release;
          writing = write(apps.writer);
          // Whichever comes first: the write held, or the use case failing before it.
          await Promise.race([armed.holding.promise, writing]);
          heldDuringRead = await idleInTransaction();
        },
        async after() {
          release?.resolve();
          await writing;
        },
      };
      const report = await apps.reporter.reports.compliance(first.admin, "acme", {});
      expect(aroundRead, "the report read the enrolments").toBeUndefined();
      if (mode === "held") {
        expect(hold, "the writer's transaction was held").toBeUndefined();
        expect(
          heldDuringRead,
          "the writer's transaction was open as the read began",
        ).toBeGreaterThan(0);
      }
      return report.principals;
    }

    /** The coverage the model says, for the principals registered before the report. */
    function expected(): PrincipalCoverage {
      const coverage = (population: "direct" | "sso") => {
        const ids = [...populations].filter(([, p]) => p === population).map(([id]) => id);
        const having = (kind: Kind) => ids.filter((id) => model(id).has(kind)).length;
        return {
          registered: ids.length,
          withTotp: having("totp"),
          withWebAuthn: having("webauthn"),
          withRecoveryCodes: having("recoveryCodes"),
          withoutPlatformMfa: ids.filter(
            (id) => !model(id).has("totp") && !model(id).has("webauthn"),
          ).length,
        };
      };
      const none = {
        registered: 0,
        withTotp: 0,
        withWebAuthn: 0,
        withRecoveryCodes: 0,
        withoutPlatformMfa: 0,
      };
      const uncovered = [...populations]
        .filter(([id, p]) => p === "direct" && !model(id).has("totp") && !model(id).has("webauthn"))
        .map(([id]) => id)
        .sort();
      return {
        registered: populations.size,
        sharedLogins: 0,
        byPopulation: {
          direct: coverage("direct"),
          sso: coverage("sso"),
          integration: none,
          api_human: none,
          guest: none,
        },
        directWithoutPlatformMfa: {
          count: uncovered.length,
          principals: uncovered,
          truncated: false,
        },
      };
    }

    it("counts what was committed when it read, with alice's move to a passkey held open at each step", async () => {
      // alice registers a passkey: the write held, she counts with TOTP alone.
      expect(await reportAround("held", (app) => registerPasskey(app, "alice"))).toEqual(
        expected(),
      );
      model("alice").add("webauthn");
      // Her TOTP removed: the removal held, she counts with both.
      expect(await reportAround("held", (app) => removeTotp(app, "alice"))).toEqual(expected());
      model("alice").delete("totp");
      expect(expected().directWithoutPlatformMfa.principals).not.toContain("alice");
      expect(await reportAround("committed", writeNothing)).toEqual(expected());
    });

    it("counts what was committed between the pages and the read, with bob's move to a passkey", async () => {
      model("bob").add("webauthn");
      expect(await reportAround("committed", (app) => registerPasskey(app, "bob"))).toEqual(
        expected(),
      );
      model("bob").delete("totp");
      expect(await reportAround("committed", (app) => removeTotp(app, "bob"))).toEqual(expected());
    });

    it("counts neither a TOTP confirmation nor a recovery-code set before it commits, and both after", async () => {
      await provedMfaJustNow(first, "acme", "carol");
      const apps = instances();
      const begun = await apps.writer.authenticators.beginTotp(service, "acme", "carol", {});
      // The confirmation held (the authenticator active, uncommitted): carol counts with nothing.
      expect(
        await reportAround("held", (app) =>
          app.authenticators
            .confirmTotp(service, "acme", "carol", begun.authenticator.id, {
              code: oathtoolCode(begun.secret, first.clock.now()),
            })
            .then(() => undefined),
        ),
      ).toEqual(expected());
      model("carol").add("totp");
      expect(await reportAround("held", (app) => generateCodes(app, "carol"))).toEqual(expected());
      model("carol").add("recoveryCodes");
      model("dave").add("recoveryCodes");
      expect(await reportAround("committed", (app) => generateCodes(app, "dave"))).toEqual(
        expected(),
      );
      // dave's codes revoked, held: still his when the read ran.
      expect(
        await reportAround("held", (app) => app.recoveryCodes.revoke(first.admin, "acme", "dave")),
      ).toEqual(expected());
      model("dave").delete("recoveryCodes");
      expect(await reportAround("committed", writeNothing)).toEqual(expected());
    });

    it("counts no principal registered after its pages, whatever it enrolled before the read", async () => {
      expect(
        // Registered and enrolled on the first instance, committed before the read.
        await reportAround("committed", async () => {
          await enrolTotp(first, service, "acme", "frank");
        }),
      ).toEqual(expected());
      populations.set("frank", "direct");
      model("frank").add("totp");
      expect(await reportAround("committed", writeNothing)).toEqual(expected());
    });
  },
);
