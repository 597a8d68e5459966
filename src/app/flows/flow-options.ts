import type { ChallengeOption } from "../../core/decision.js";
import type { AuthenticationEvent } from "../../core/evidence.js";
import type { FlowOption } from "./flow-screens.js";

/** What the flow knows of the principal's enrolled methods and the tenant's IdPs. */
export interface FlowMethods {
  readonly totp: readonly { readonly id: string; readonly name: string }[];
  readonly webauthn: number;
  /** The recovery codes the user may enter now (none while the set is locked). */
  readonly recoveryCodes: number;
  /**
   * Whether the principal holds a set of recovery codes with an unused code, locked or not: a
   * method bound to it (a look-up secret), as the enrolment API's binding rule counts it.
   */
  readonly recoveryCodeSet: boolean;
  readonly idps: readonly { readonly id: string; readonly name: string }[];
}

/**
 * Whether the user may enrol a new authenticator in this flow. Enrolment binds a new way to sign
 * in as this principal, so it must not be open to whoever holds only one factor (SP 800-63B-4
 * §4.1.2: binding further authenticators needs an existing authenticator of the same assurance):
 * a principal that has an authenticator must verify one of its own in the flow first, as the
 * enrolment use cases themselves require of the platform's backend (a fresh MFA); a sign-in at
 * the IdP, even with MFA, proves none of them. A set of recovery codes is one of them: else
 * whoever holds the password of a principal whose only method is that set would bind their own
 * authenticator here, on a fresh MFA the principal proved elsewhere (which is all the API's rule
 * asks of the platform's backend). A principal with none may enrol its first on the strength of
 * the platform's own first factor or an IdP sign-in that proved at least one factor.
 */
export function mayEnrol(
  methods: FlowMethods,
  evidence: {
    readonly firstFactor: readonly AuthenticationEvent[];
    readonly verified: readonly AuthenticationEvent[];
  },
): boolean {
  const proven = evidence.verified.some(provesAnAuthenticator);
  if (methods.totp.length > 0 || methods.webauthn > 0 || methods.recoveryCodeSet) return proven;
  return proven || evidence.firstFactor.length > 0 || evidence.verified.some(signsInAtIdp);
}

/**
 * Whether the user may begin an enrolment in this flow now ({@link mayEnrol}), and so whether the
 * page offers one: a verification in the flow that it rests on counts only from `freshAfter` (ms
 * since the epoch) on. Beginning one on the principal's behalf needs a fresh MFA of the
 * enrolment API (`authenticator.fresh_mfa_required`, five minutes), which a verification older
 * than that no longer gives: offered then, the enrolment would be refused with no way left in the
 * flow to verify again; not offered, the page asks for the verification instead. Finishing an
 * enrolment begun in time ({@link mayEnrol}) needs no fresher proof, as the API's does not.
 */
export function mayBeginEnrolment(
  methods: FlowMethods,
  evidence: {
    readonly firstFactor: readonly AuthenticationEvent[];
    readonly verified: readonly AuthenticationEvent[];
  },
  freshAfter: number,
): boolean {
  const verified = evidence.verified.filter(
    (event) => !provesAnAuthenticator(event) || Date.parse(event.at) >= freshAfter,
  );
  return mayEnrol(methods, { firstFactor: evidence.firstFactor, verified });
}

/** Possession of one of the principal's own platform authenticators, verified in this flow. */
const provesAnAuthenticator = (event: AuthenticationEvent): boolean =>
  event.method === "totp" || event.method === "webauthn" || event.method === "recovery_code";

/** A sign-in at the IdP that proved at least one factor: it says who the principal is. */
const signsInAtIdp = (event: AuthenticationEvent): boolean =>
  event.method === "federated" && event.assurance.aal >= 1;

/**
 * The flow's options for a `challenge`, in the engine's order, without duplicates. An enrolment
 * the user may not make yet is replaced by verifying what they have (after which it is offered);
 * an IdP step-up without a named IdP is offered at each of the tenant's IdPs.
 */
export function flowOptions(
  challenge: readonly ChallengeOption[],
  methods: FlowMethods,
  enrolmentAllowed: boolean,
  reauthenticateAt: string,
): readonly FlowOption[] {
  const options: FlowOption[] = [];
  const seen = new Set<string>();
  const add = (option: FlowOption): void => {
    const key = option.kind === "idp" ? `idp:${option.idp}` : option.kind;
    if (seen.has(key)) return;
    seen.add(key);
    options.push(option);
  };
  const verifyExisting = (): void => {
    if (methods.totp.length > 0) add({ kind: "verify_totp", authenticators: methods.totp });
    if (methods.webauthn > 0) add({ kind: "verify_webauthn" });
    if (methods.recoveryCodes > 0) add({ kind: "verify_recovery_code" });
  };
  for (const option of challenge) {
    switch (option.kind) {
      case "reauthenticate":
        add({ kind: "reauthenticate", location: reauthenticateAt });
        break;
      case "verify":
        if (option.method === "totp" && methods.totp.length > 0) {
          add({ kind: "verify_totp", authenticators: methods.totp });
        } else if (option.method === "webauthn" && methods.webauthn > 0) {
          add({ kind: "verify_webauthn" });
        } else if (option.method === "recovery_code" && methods.recoveryCodes > 0) {
          add({ kind: "verify_recovery_code" });
        }
        break;
      case "enroll":
        if (!enrolmentAllowed) {
          verifyExisting();
        } else if (option.method === "totp") {
          add({ kind: "enroll_totp" });
        } else {
          add({ kind: "enroll_webauthn", deviceBound: option.deviceBound });
        }
        break;
      case "idp_step_up":
        for (const idp of methods.idps) {
          if (option.idp === undefined || option.idp === idp.id) {
            add({ kind: "idp", idp: idp.id, name: idp.name });
          }
        }
        break;
    }
  }
  return options;
}
