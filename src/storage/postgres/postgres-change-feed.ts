import pg from "pg";
import { parseStoreChange, type ChangeNotification } from "./parse-store-change.js";

export const CHANGE_CHANNEL = "tenant_mfa_changes";

/** Shown in pg_stat_activity, so operators (and tests) can tell the listener apart. */
export const LISTEN_APPLICATION_NAME = "tenant-mfa:listen";

const FIRST_RETRY_MS = 100;
const LAST_RETRY_MS = 5000;

/**
 * One dedicated connection that LISTENs for changes. A pooled connection would not do: the pool
 * hands it to queries and closes it when idle. When the connection drops (a restart, a failover,
 * a killed backend) it reconnects with backoff until closed; notifications sent while it was
 * down are lost, which caches bound their staleness against with their own expiry.
 */
export class PostgresChangeFeed {
  readonly #config: pg.ClientConfig;
  readonly #deliver: (notification: ChangeNotification) => void;
  #client: pg.Client | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelay = FIRST_RETRY_MS;
  #closed = false;

  constructor(config: pg.ClientConfig, deliver: (notification: ChangeNotification) => void) {
    this.#config = { ...config, application_name: LISTEN_APPLICATION_NAME };
    this.#deliver = deliver;
  }

  /** Connects and listens; rejects when the first connection fails. */
  async start(): Promise<void> {
    await this.#connect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    const client = this.#client;
    this.#client = undefined;
    await client?.end();
  }

  async #connect(): Promise<void> {
    const client = new pg.Client(this.#config);
    client.on("notification", (message) => {
      if (message.channel !== CHANGE_CHANNEL || message.payload === undefined) return;
      const notification = parseStoreChange(message.payload);
      if (notification !== undefined) this.#deliver(notification);
    });
    // Without an error listener a dropped connection would crash the process.
    client.on("error", () => {
      this.#lose(client);
    });
    client.on("end", () => {
      this.#lose(client);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGE_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.#closed) {
      await client.end();
      return;
    }
    this.#client = client;
    this.#retryDelay = FIRST_RETRY_MS;
  }

  #lose(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    client.end().catch(() => undefined);
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#connect().catch(() => {
        this.#retryDelay = Math.min(this.#retryDelay * 2, LAST_RETRY_MS);
        this.#scheduleReconnect();
      });
    }, this.#retryDelay);
  }
}
