import { afterAll, beforeAll, describe } from "vitest";
import { describeAuthenticators } from "./describe-authenticators.js";
import { describeEnrolments } from "./describe-enrolments.js";
import { describeAuditChain, describeAuditRowsBeforeFirst } from "./describe-audit-chain.js";
import { describeBatchedWrites } from "./describe-batched-writes.js";
import { describeChangeNotifications } from "./describe-change-notifications.js";
import { describeExemptionQueries } from "./describe-exemption-queries.js";
import { describeFederation } from "./describe-federation.js";
import { describeFlows } from "./describe-flows.js";
import { describeMultiInstance } from "./describe-multi-instance.js";
import { describeNestingRefusals } from "./describe-nesting-refusals.js";
import { describePagination } from "./describe-pagination.js";
import { describeRecoveryCodes } from "./describe-recovery-codes.js";
import { describeRoundTrips } from "./describe-round-trips.js";
import { describeSealedSecrets } from "./describe-sealed-secrets.js";
import { describeSigningKeys } from "./describe-signing-keys.js";
import { describeTenantIsolation } from "./describe-tenant-isolation.js";
import { describeTransactions } from "./describe-transactions.js";
import { describeUniqueInserts } from "./describe-unique-inserts.js";
import { describeUnreadableRows } from "./describe-unreadable-rows.js";
import { describeVerificationThrottles } from "./describe-verification-throttles.js";
import { describeVersions } from "./describe-versions.js";
import { describeWebAuthn } from "./describe-webauthn.js";
import type { ContractContext, StoreHarness } from "./store-harness.js";

export type { StoreHarness } from "./store-harness.js";

/** How the store under test was opened, where it changes what the suite can expect. */
export interface ContractOptions {
  /** Opened with `detectNesting` (the default in tests): the nesting refusals run too. */
  readonly detectsNesting?: boolean;
  /**
   * Another connection reaches the database, so the harness can `tamper` with it behind the
   * store (the default): the suites of damaged rows are defined too. False for SQLite in memory.
   */
  readonly tamperable?: boolean;
  /**
   * Several instances share the database (PostgreSQL; the harness gives `openSecond`): the tests
   * of two instances at once are defined too. A store one process owns (SQLite) has none.
   */
  readonly sharedByInstances?: boolean;
}

/**
 * The storage contract: the one suite every Store passes, whatever its database. `open` runs
 * once for the suite and must give a store on an empty, migrated database.
 */
export function describeStoreContract(
  name: string,
  open: () => Promise<StoreHarness>,
  options: ContractOptions = { detectsNesting: true },
): void {
  describe(name, () => {
    let opened: StoreHarness | undefined;

    beforeAll(async () => {
      opened = await open();
    });

    afterAll(async () => {
      await opened?.cleanup();
    });

    const harness = (): StoreHarness => {
      if (opened === undefined) throw new Error("The store under test failed to open");
      return opened;
    };
    const context: ContractContext = {
      harness,
      store: () => harness().store,
      sharedByInstances: options.sharedByInstances === true,
    };

    describeRoundTrips(context);
    describeVersions(context);
    describeTenantIsolation(context);
    if (options.tamperable !== false) describeUnreadableRows(context);
    describeUniqueInserts(context);
    describeTransactions(context);
    describePagination(context);
    describeExemptionQueries(context);
    describeAuditChain(context);
    if (options.tamperable !== false) describeAuditRowsBeforeFirst(context);
    describeBatchedWrites(context);
    describeChangeNotifications(context);
    if (context.sharedByInstances) describeMultiInstance(context);
    describeFederation(context);
    describeAuthenticators(context);
    describeEnrolments(context);
    describeRecoveryCodes(context);
    describeSigningKeys(context);
    describeSealedSecrets(context);
    describeVerificationThrottles(context);
    describeWebAuthn(context);
    describeFlows(context);
    if (options.detectsNesting === true) describeNestingRefusals(context);
  });
}
