import type { Application, Caller } from "../application.js";
import type { Repositories, Store } from "../ports.js";
import { CountingRandom, openHarness, type Harness } from "./harness.js";
import { replacePolicy } from "./replace-policy.js";

/** Work to run once, between a use case's read of an exemption and what it does next. */
export interface ExemptionRace {
  after?: (() => Promise<void>) | undefined;
}

/**
 * `raw`, except that `race.after` runs (once) right after a read that called `exemptions[read]`
 * has returned: between a use case's look at an exemption and the transaction that acts on it, as
 * a revocation on another instance can. So a race test is deterministic on either store.
 */
export function storeRacingExemptions(
  raw: Store,
  read: "get" | "list",
  race: ExemptionRace,
): Store {
  return {
    ...raw,
    read: async (work) => {
      let looked = false;
      const result = await raw.read((r) =>
        work(
          new Proxy(r, {
            get(target, key) {
              const value = target[key as keyof Repositories];
              if (key !== "exemptions") return value;
              const exemptions = value as Repositories["exemptions"];
              const seen = () => {
                looked = true;
              };
              const watched =
                read === "get"
                  ? {
                      get: (...args: Parameters<typeof exemptions.get>) => {
                        seen();
                        return exemptions.get(...args);
                      },
                    }
                  : {
                      list: (...args: Parameters<typeof exemptions.list>) => {
                        seen();
                        return exemptions.list(...args);
                      },
                    };
              return { ...exemptions, ...watched };
            },
          }),
        ),
      );
      const hook = race.after;
      if (looked && hook !== undefined) {
        race.after = undefined;
        await hook();
      }
      return result;
    },
  };
}

/**
 * Tenant `acme` (`platform_mfa`, `returnUrl` registered) with principal alice over `store`, a
 * platform service key, and a second application over the same store (`racing`) whose reads of
 * exemptions through `exemptions[read]` run `race.after` once, as {@link storeRacingExemptions}.
 */
export interface ExemptionRaceWorld {
  readonly h: Harness;
  readonly service: Caller;
  readonly racing: Application & { close(): Promise<void> };
  readonly race: ExemptionRace;
  close(): Promise<void>;
}

/** Opens an {@link ExemptionRaceWorld}; its `close` leaves `store`'s database to the caller. */
export async function openExemptionRaceWorld(
  store: Store,
  read: "get" | "list",
  returnUrl: string,
): Promise<ExemptionRaceWorld> {
  const h = await openHarness({ store });
  await h.app.tenants.create(h.admin, { id: "acme", name: "acme corp" });
  await h.app.principals.upsert(h.admin, "acme", "alice", { population: "direct" });
  await h.app.tenants.setReturnUrls(h.admin, "acme", { returnUrls: [returnUrl] });
  await replacePolicy(h, "acme", { posture: "platform_mfa" });
  const service = await h.caller(["platform_service"], ["acme"]);
  const race: ExemptionRace = {};
  const racing = h.application({
    store: storeRacingExemptions(h.store, read, race),
    random: new CountingRandom(500_000),
  });
  return {
    h,
    service,
    racing,
    race,
    async close() {
      race.after = undefined;
      await racing.close();
      await h.close();
    },
  };
}
