import type { Repositories, Store } from "../ports.js";

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
