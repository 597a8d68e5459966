import type { Kysely } from "kysely";
import type { ChangeNotices, Repositories } from "../../app/ports.js";
import { createApiKeyRepository } from "./api-key-repository.js";
import { createAuthenticatorRepository } from "./authenticator-repository.js";
import { createAuditRepository, type AuditRepositoryOptions } from "./audit-repository.js";
import { createBrowserSessionRepository } from "./browser-session-repository.js";
import type { Database } from "./database.js";
import { createEnrolmentRepository } from "./enrolment-repository.js";
import { createExemptionRepository } from "./exemption-repository.js";
import { createFederationAnswerRepository } from "./federation-answer-repository.js";
import { createFederationRequestRepository } from "./federation-request-repository.js";
import { createFlowRepository } from "./flow-repository.js";
import { createIdpRepository } from "./idp-repository.js";
import { createMandateRepository } from "./mandate-repository.js";
import { createOneTimeProofRepository } from "./one-time-proof-repository.js";
import { createPolicyRepository } from "./policy-repository.js";
import { createPrincipalRepository } from "./principal-repository.js";
import { createReceiptRepository } from "./receipt-repository.js";
import { createRecoveryCodeRepository } from "./recovery-code-repository.js";
import { createSealedSecretRepository } from "./sealed-secret-repository.js";
import { createSigningKeyRepository } from "./signing-key-repository.js";
import { createTenantRepository } from "./tenant-repository.js";
import { createVerificationThrottleRepository } from "./verification-throttle-repository.js";
import {
  createWebAuthnChallengeRepository,
  createWebAuthnCredentialRepository,
  createWebAuthnSettingsRepository,
} from "./webauthn-repository.js";

/** How the dialect's transactions meet: what its repositories must lock. */
export interface RepositoryOptions {
  readonly audit: AuditRepositoryOptions;
  /**
   * Lock the rows that a check reads and must stay true until the commit (`SELECT … FOR SHARE`).
   * PostgreSQL needs it because transactions run side by side; SQLite has no such clause and
   * needs none, its write transactions being serial.
   */
  readonly lockRows: boolean;
}

/**
 * Every repository, bound to `db`: pass a transaction to make them all write in it, with the
 * notices that hold its announcements until it commits.
 */
export function createRepositories(
  db: Kysely<Database>,
  options: RepositoryOptions,
  changes: ChangeNotices,
): Repositories {
  return {
    tenants: createTenantRepository(db),
    policies: createPolicyRepository(db),
    mandates: createMandateRepository(db, options),
    principals: createPrincipalRepository(db, options),
    exemptions: createExemptionRepository(db, options),
    receipts: createReceiptRepository(db),
    apiKeys: createApiKeyRepository(db),
    audit: createAuditRepository(db, options.audit),
    idps: createIdpRepository(db),
    federationRequests: createFederationRequestRepository(db),
    federationAnswers: createFederationAnswerRepository(db),
    oneTimeProofs: createOneTimeProofRepository(db),
    authenticators: createAuthenticatorRepository(db),
    recoveryCodes: createRecoveryCodeRepository(db),
    signingKeys: createSigningKeyRepository(db),
    sealedSecrets: createSealedSecretRepository(db),
    verificationThrottles: createVerificationThrottleRepository(db),
    webauthnCredentials: createWebAuthnCredentialRepository(db),
    webauthnChallenges: createWebAuthnChallengeRepository(db),
    webauthnSettings: createWebAuthnSettingsRepository(db),
    enrolments: createEnrolmentRepository(db),
    flows: createFlowRepository(db),
    browserSessions: createBrowserSessionRepository(db),
    changes,
  };
}
