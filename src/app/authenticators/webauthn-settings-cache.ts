import { deepFreeze } from "../../core/input.js";
import { AnnouncedCache } from "../announced-cache.js";
import type { WebAuthnSettingsView } from "../application.js";
import type { Clock, Store } from "../ports.js";

/**
 * Each tenant's WebAuthn settings in force (its own, or the defaults from the public URL) as
 * the ceremonies read them, cached per instance so that a sign-in does not read the tenant and
 * its settings from the store ({@link AnnouncedCache}: dropped on every `webauthn_settings`
 * notice, and by the instance that made the change before it answers, so a new RP id, origin or
 * user-verification requirement binds the very next ceremony there). Refusals (no such tenant,
 * not configured) are thrown by the load and never kept.
 */
export class WebAuthnSettingsCache extends AnnouncedCache<WebAuthnSettingsView> {
  constructor(store: Store, clock: Clock) {
    super(store, clock, { droppedBy: ["webauthn_settings"] });
  }

  /** The tenant's settings: cached if read less than a second ago, else from `load`. */
  settings(
    tenant: string,
    load: () => Promise<WebAuthnSettingsView>,
  ): Promise<WebAuthnSettingsView> {
    // Frozen: one object serves every ceremony of the tenant until it is dropped.
    return this.get(tenant, "", async () => deepFreeze(await load()));
  }
}
