import { ApiKeyCache } from "./api-keys/api-key-cache.js";
import { apiKeyUseCases, authenticate } from "./api-keys/api-keys.js";
import type { Application } from "./application.js";
import { assuranceUseCases } from "./assurance/assurance.js";
import { signingKeys } from "./assurance/signing-keys.js";
import type { AssuranceTokenSigner } from "./assurance/token-signer.js";
import { auditCheckpoints } from "./audit/audit-checkpoints.js";
import { auditUseCases } from "./audit/audit-log.js";
import { authenticatorUseCases } from "./authenticators/authenticators.js";
import { recoveryCodeUseCases } from "./authenticators/recovery-codes.js";
import type { TotpProtocol } from "./authenticators/totp-protocol.js";
import {
  attestationTrust,
  webauthnUseCases,
  withWebAuthnCredentials,
  type WebAuthnParts,
} from "./authenticators/webauthn.js";
import { WebAuthnSettingsCache } from "./authenticators/webauthn-settings-cache.js";
import { DEFAULT_SETTINGS, type AppSettings, type Context } from "./context.js";
import { decisionUseCases, type DecisionServices } from "./decisions/decisions.js";
import { ReceiptWriter } from "./decisions/receipt-writer.js";
import { RulesCache } from "./decisions/rules-cache.js";
import { SignInSettingsCache } from "./federation/sign-in-settings-cache.js";
import { AppError } from "./errors.js";
import { exemptionUseCases } from "./exemptions/exemptions.js";
import type { FederationParts } from "./federation/endpoints.js";
import { federationUseCases } from "./federation/federation.js";
import { flowUseCases } from "./flows/flows.js";
import { idpUseCases } from "./idps/idps.js";
import { mandateUseCases } from "./mandates/mandates.js";
import { policyUseCases } from "./policies/policies.js";
import type { Clock, Random, SecretHasher, SecretSealer, Store, Timers } from "./ports.js";
import { principalUseCases } from "./principals/principals.js";
import { reportUseCases } from "./reports/reports.js";
import { tenantUseCases } from "./tenants/tenants.js";

/** What the application is built from: the adapters, chosen by the composition root. */
export interface ApplicationParts {
  readonly store: Store;
  readonly clock: Clock;
  readonly random: Random;
  /** Runs work later (a minute's count of unrecorded refusals, say); by default {@link systemTimers}. */
  readonly timers?: Timers;
  readonly settings?: AppSettings;
  /**
   * Seals secrets at rest (TOTP seeds); the federation parts carry the same sealer. Without it
   * and `totp`, the authenticator use cases answer `authenticator.not_configured`.
   */
  readonly secrets?: SecretSealer;
  /** The TOTP verifier. */
  readonly totp?: TotpProtocol;
  /**
   * Hashes recovery codes (a salted password hash); without it, the recovery-code use cases
   * answer `recovery_code.not_configured`.
   */
  readonly recoveryCodeHasher?: SecretHasher;
  /** WebAuthn; without it, the WebAuthn use cases answer `webauthn.not_configured`. */
  readonly webauthn?: WebAuthnParts;
  /** SAML and OIDC sign-in; without it, IdP registration and federation answer `federation.not_configured`. */
  readonly federation?: FederationParts;
  /** Signs assurance tokens; with `secrets` (which seal its keys) it enables them. */
  readonly tokenSigner?: AssuranceTokenSigner;
  /**
   * The URL browsers reach this server at: hosted flow URLs and the assurance tokens' `iss`.
   * By default the federation's public URL.
   */
  readonly publicUrl?: string;
}

/** Node.js timers, unref'd: a task waiting keeps no process alive. */
export const systemTimers: Timers = {
  after(ms, task) {
    const timer = setTimeout(() => void task(), ms);
    timer.unref();
    return () => {
      clearTimeout(timer);
    };
  },
};

/** Builds the application's use cases over a store, a clock and a source of randomness. */
export function createApplication(
  parts: ApplicationParts,
): Application & { close(): Promise<void> } {
  const context: Context = {
    store: parts.store,
    clock: parts.clock,
    random: parts.random,
    settings: parts.settings ?? DEFAULT_SETTINGS,
  };
  const cache = new RulesCache(parts.store, parts.clock);
  const keys = new ApiKeyCache(parts.store, parts.clock);
  const attested = attestationTrust(parts.webauthn);
  const services: DecisionServices = {
    rules: cache,
    receipts: new ReceiptWriter(context),
    attested,
  };
  const publicUrl = parts.publicUrl ?? parts.federation?.publicUrl ?? "http://localhost";
  const signingKeySet =
    parts.secrets === undefined || parts.tokenSigner === undefined
      ? undefined
      : signingKeys(context, { signer: parts.tokenSigner, secrets: parts.secrets });
  const authenticators = withWebAuthnCredentials(
    context,
    authenticatorUseCases(
      context,
      parts.secrets === undefined || parts.totp === undefined
        ? undefined
        : { secrets: parts.secrets, totp: parts.totp },
    ),
    attested,
  );
  const recoveryCodes = recoveryCodeUseCases(context, parts.recoveryCodeHasher);
  const webauthnSettings = new WebAuthnSettingsCache(parts.store, parts.clock);
  const webauthn = webauthnUseCases(context, parts.webauthn, webauthnSettings);
  const signIns = new SignInSettingsCache(parts.store, parts.clock);
  const { close: closeFederation, ...federation } = federationUseCases(
    context,
    services,
    parts.federation,
    signIns,
    parts.timers ?? systemTimers,
  );
  return {
    authenticate: (secret) => authenticate(context, keys, secret),
    apiKeys: apiKeyUseCases(context, keys),
    tenants: tenantUseCases(context),
    policies: policyUseCases(context),
    mandates: mandateUseCases(context),
    principals: principalUseCases(context),
    exemptions: exemptionUseCases(context),
    decisions: decisionUseCases(context, services),
    reports: reportUseCases(context),
    idps: idpUseCases(context, parts.federation),
    federation,
    audit: auditUseCases(
      context,
      auditCheckpoints(
        context,
        parts.tokenSigner === undefined
          ? undefined
          : {
              ...(signingKeySet === undefined ? {} : { keys: signingKeySet }),
              signer: parts.tokenSigner,
              issuer: publicUrl,
            },
      ),
    ),
    assurance: assuranceUseCases(signingKeySet),
    authenticators,
    recoveryCodes,
    webauthn,
    flows: flowUseCases(
      context,
      services,
      { authenticators, recoveryCodes, webauthn, federation },
      {
        publicUrl,
        keys: signingKeySet,
        signer: parts.tokenSigner,
        attested,
        oidc: parts.federation?.oidc,
      },
    ),
    async ready() {
      try {
        await parts.store.ping();
      } catch {
        throw new AppError("store.unavailable");
      }
    },
    /**
     * Stops the caches and timers, then records what is only held in memory (the counts of
     * federation refusals past the audit budget in the minutes under way): await it before
     * closing the store. It never rejects, and waits a few seconds at most.
     */
    async close() {
      cache.close();
      keys.close();
      webauthnSettings.close();
      signIns.close();
      await closeFederation();
    },
  };
}
