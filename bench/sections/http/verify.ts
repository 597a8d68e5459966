import { statSync } from "node:fs";
import Sqlite from "better-sqlite3";
import { loadConfig } from "../../../src/config/load-config.js";
import { openApplication } from "../../../src/main.js";

/** A decision the load generator kept, to read its receipt back afterwards. */
export interface SampledDecision {
  readonly id: string;
  readonly outcome: string;
}

/** What {@link verifyStore} found in a store after its server was killed. */
export interface StoreVerification {
  readonly receipts: number;
  readonly decisionEvents: number;
  readonly sampled: number;
  readonly auditChains: number;
  readonly auditEvents: number;
  readonly verifyMs: number;
  readonly fileBytes: number;
  /** One line for the notes. */
  readonly summary: string;
}

const fileSize = (path: string): number => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

/**
 * Opens the SQLite file a killed server left (recovering its WAL, as a restart would) and checks
 * that every decision answered 2xx has its receipt and its `decision.recorded` audit event, that
 * the sampled receipts read back through the application with the outcome the client got, and
 * that the audit chains verify (`app.audit.verify`). Throws on the first discrepancy.
 */
export async function verifyStore(options: {
  readonly dbPath: string;
  readonly adminSecret: string;
  /** Decisions the server answered with 2xx. */
  readonly decisions: number;
  readonly samples: readonly SampledDecision[];
}): Promise<StoreVerification> {
  const started = performance.now();
  const fileBytes = fileSize(options.dbPath) + fileSize(`${options.dbPath}-wal`);
  const opened = await openApplication(
    loadConfig({ env: {}, overrides: { db: `sqlite:${options.dbPath}` } }),
  );
  try {
    const { app } = opened;
    const database = new Sqlite(options.dbPath, { readonly: true });
    let receipts: number;
    let decisionEvents: number;
    try {
      const count = (sql: string): number => (database.prepare(sql).get() as { n: number }).n;
      receipts = count("select count(*) as n from receipts");
      decisionEvents = count(
        "select count(*) as n from audit_events where type = 'decision.recorded'",
      );
    } finally {
      database.close();
    }
    if (receipts !== options.decisions || decisionEvents !== options.decisions) {
      throw new Error(
        `the store holds ${String(receipts)} receipts and ${String(decisionEvents)} ` +
          `decision.recorded events for ${String(options.decisions)} decisions answered 2xx`,
      );
    }
    const admin = await app.authenticate(options.adminSecret);
    for (const sample of options.samples) {
      const receipt = await app.decisions.receipt(admin, sample.id);
      if (receipt.outcome !== sample.outcome || receipt.decision.outcome !== sample.outcome) {
        throw new Error(
          `receipt ${sample.id} says ${receipt.outcome}; the response said ${sample.outcome}`,
        );
      }
    }
    const audit = await app.audit.verify(admin, {});
    if (!audit.ok) {
      throw new Error(`the audit chains do not verify: ${JSON.stringify(audit.broken)}`);
    }
    const verifyMs = performance.now() - started;
    return {
      receipts,
      decisionEvents,
      sampled: options.samples.length,
      auditChains: audit.chains,
      auditEvents: audit.events,
      verifyMs,
      fileBytes,
      summary:
        `after SIGKILL of the server: ${receipts.toLocaleString("en-US")} receipts and ` +
        `${decisionEvents.toLocaleString("en-US")} decision.recorded events for ` +
        `${options.decisions.toLocaleString("en-US")} decisions answered 2xx ✓; ` +
        `${String(options.samples.length)} sampled receipts read back through ` +
        `app.decisions.receipt with the outcome the client got ✓; app.audit.verify: ok, ` +
        `${audit.chains.toLocaleString("en-US")} chains, ${audit.events.toLocaleString("en-US")} events ✓ ` +
        `(${(verifyMs / 1000).toFixed(1)} s; database + WAL ${mb(fileBytes)})`,
    };
  } finally {
    await opened.close();
  }
}
