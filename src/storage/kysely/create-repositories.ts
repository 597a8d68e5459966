import type { Kysely } from "kysely";
import type { ChangeNotices, Repositories } from "../../app/ports.js";
import { createApiKeyRepository } from "./api-key-repository.js";
import { createAuthenticatorRepository } from "./authenticator-repository.js";
import { createAuditRepository, type AuditRepositoryOptions } from "./audit-repository.js";
import { createBrowserSessionRepository } from "./browser-session-repository.js";
import type { Database } from "./database.js";
import { createExemptionRepository } from "./exemption-repository.js";
import { createFederationRequestRepository } from "./federation-request-repository.js";
import { createFlowRepository } from "./flow-repository.js";
import { createIdpRepository } from "./idp-repository.js";
import { createMandateRepository } from "./mandate-repository.js";
import { createOneTimeProofRepository } from "./one-time-proof-repository.js";
import { createPolicyRepository } from "./policy-repository.js";
import { createPrincipalRepository } from "./principal-repository.js";
import { createReceiptRepository } from "./receipt-repository.js";
import { createRecoveryCodeRepository } from "./recovery-code-repository.js";
import { createSigningKeyRepository } from "./signing-key-repository.js";
import { createTenantRepository } from "./tenant-repository.js";
import { createVerificationThrottleRepository } from "./verification-throttle-repository.js";
import {
  createWebAuthnChallengeRepository,
  createWebAuthnCredentialRepository,
  createWebAuthnSettingsRepository,
} from "./webauthn-repository.js";

/**
 * Every repository, bound to `db`: pass a transaction to make them all write in it, with the
 * notices that hold its announcements until it commits.
 */
export function createRepositories(
  db: Kysely<Database>,
  options: AuditRepositoryOptions,
  changes: ChangeNotices,
): Repositories {
  return {
    tenants: createTenantRepository(db),
    policies: createPolicyRepository(db),
    mandates: createMandateRepository(db),
    principals: createPrincipalRepository(db),
    exemptions: createExemptionRepository(db),
    receipts: createReceiptRepository(db),
    apiKeys: createApiKeyRepository(db),
    audit: createAuditRepository(db, options),
    idps: createIdpRepository(db),
    federationRequests: createFederationRequestRepository(db),
    oneTimeProofs: createOneTimeProofRepository(db),
    authenticators: createAuthenticatorRepository(db),
    recoveryCodes: createRecoveryCodeRepository(db),
    signingKeys: createSigningKeyRepository(db),
    verificationThrottles: createVerificationThrottleRepository(db),
    webauthnCredentials: createWebAuthnCredentialRepository(db),
    webauthnChallenges: createWebAuthnChallengeRepository(db),
    webauthnSettings: createWebAuthnSettingsRepository(db),
    flows: createFlowRepository(db),
    browserSessions: createBrowserSessionRepository(db),
    changes,
  };
}
