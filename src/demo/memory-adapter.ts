/**
 * The demo IdP's storage for `oidc-provider` (sessions, interactions, codes, grants): in memory,
 * one per IdP instance, gone when the demo stops, which is all a development IdP needs. Written
 * here rather than taking the package's built-in one, which is shared by every provider in the
 * process and announces itself on every start with a warning meant for production deployments.
 *
 * @module
 */

interface Entry {
  readonly payload: Payload;
  readonly expiresAt: number;
}

const SWEEP_EVERY = 200;

type Payload = Record<string, unknown>;

/** What `oidc-provider` calls on its storage, for one model (Session, AuthorizationCode…). */
export interface OidcAdapter {
  upsert(id: string, payload: Payload, expiresIn?: number): Promise<void>;
  find(id: string): Promise<Payload | undefined>;
  findByUid(uid: string): Promise<Payload | undefined>;
  findByUserCode(userCode: string): Promise<Payload | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

/** An adapter class for `oidc-provider`'s `adapter` setting, over a store of its own. */
export function memoryAdapter(now: () => number = Date.now): new (model: string) => OidcAdapter {
  const entries = new Map<string, Entry>();
  const byGrant = new Map<string, Set<string>>();
  const byUid = new Map<string, string>();
  const byUserCode = new Map<string, string>();
  let writes = 0;

  const sweep = () => {
    const at = now();
    for (const [key, entry] of entries) if (entry.expiresAt <= at) entries.delete(key);
  };

  return class MemoryAdapter implements OidcAdapter {
    readonly #model: string;

    constructor(model: string) {
      this.#model = model;
    }

    key(id: string): string {
      return `${this.#model}:${id}`;
    }

    upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
      const key = this.key(id);
      entries.set(key, {
        payload,
        expiresAt: typeof expiresIn === "number" ? now() + expiresIn * 1000 : Infinity,
      });
      if (typeof payload.grantId === "string") {
        const members = byGrant.get(payload.grantId) ?? new Set<string>();
        members.add(key);
        byGrant.set(payload.grantId, members);
      }
      if (typeof payload.uid === "string") byUid.set(this.key(payload.uid), id);
      if (typeof payload.userCode === "string") byUserCode.set(this.key(payload.userCode), id);
      if (++writes % SWEEP_EVERY === 0) sweep();
      return Promise.resolve();
    }

    find(id: string): Promise<Payload | undefined> {
      const key = this.key(id);
      const entry = entries.get(key);
      if (entry !== undefined && entry.expiresAt <= now()) entries.delete(key);
      return Promise.resolve(
        entry !== undefined && entry.expiresAt > now() ? entry.payload : undefined,
      );
    }

    findByUid(uid: string): Promise<Payload | undefined> {
      const id = byUid.get(this.key(uid));
      return id === undefined ? Promise.resolve(undefined) : this.find(id);
    }

    findByUserCode(userCode: string): Promise<Payload | undefined> {
      const id = byUserCode.get(this.key(userCode));
      return id === undefined ? Promise.resolve(undefined) : this.find(id);
    }

    consume(id: string): Promise<void> {
      const entry = entries.get(this.key(id));
      if (entry !== undefined) entry.payload.consumed = Math.floor(now() / 1000);
      return Promise.resolve();
    }

    destroy(id: string): Promise<void> {
      entries.delete(this.key(id));
      return Promise.resolve();
    }

    revokeByGrantId(grantId: string): Promise<void> {
      for (const key of byGrant.get(grantId) ?? []) entries.delete(key);
      byGrant.delete(grantId);
      return Promise.resolve();
    }
  };
}
