import type { Reason } from "../../core/reasons.js";
import type { ExemptionCategory } from "../../core/vocabulary.js";

/**
 * What a hosted flow page shows, decided by the flow use cases and rendered by `src/pages`. A
 * screen holds only what the page needs to say and the forms it offers; wording comes from the
 * message catalogue, so the same screen renders in any language.
 *
 * @module
 */

/** What every page of a flow shows and every form sends back. */
export interface FlowFrame {
  readonly tenant: { readonly id: string; readonly name: string; readonly logoUrl?: string };
  readonly flow: string;
  readonly principal: { readonly id: string; readonly displayName?: string };
  /** Sent back as the `csrf` field of every form and the `x-csrf-token` header of every fetch. */
  readonly csrfToken: string;
  readonly expiresAt: string;
  /** The flow asks for more than the policy does, for a sensitive action. */
  readonly stepUp: boolean;
  /** Origins that forms on this page may lead to (the IdP, the platform's return URL). */
  readonly formTargets: readonly string[];
}

/** Feedback on the last thing the user did, as a message-catalogue code. */
export interface FlowNotice {
  readonly code: FlowMessageCode;
  /** Values the message needs, e.g. `{ remaining: 3 }`. */
  readonly values?: Readonly<Record<string, string | number>>;
  readonly tone: "error" | "info";
}

/** One way to meet the requirement, as the challenge page offers it. */
export type FlowOption =
  | {
      readonly kind: "verify_totp";
      readonly authenticators: readonly { readonly id: string; readonly name: string }[];
    }
  | { readonly kind: "verify_webauthn" }
  | { readonly kind: "verify_recovery_code" }
  | { readonly kind: "enroll_totp" }
  /** `deviceBound`: a synced passkey is not enough here (AAL3): a security key is needed. */
  | { readonly kind: "enroll_webauthn"; readonly deviceBound: boolean }
  | { readonly kind: "idp"; readonly idp: string; readonly name: string }
  /** The platform must check its own first factor again: back to it, with `error=reauthenticate`. */
  | { readonly kind: "reauthenticate"; readonly location: string };

/** The message codes of the hosted pages; `src/pages/messages` has their text. */
export type FlowMessageCode =
  | "totp.invalid_code"
  | "recovery_code.invalid"
  | "recovery_codes.running_low"
  | "recovery_codes.exhausted"
  | "webauthn.failed"
  | "verification.throttled"
  | "verification.locked"
  | "idp.mfa_unavailable"
  | "idp.rejected"
  /** The IdP's verified answer proved less than the flow needs (no MFA, too old, not phishing-resistant). */
  | "idp.insufficient"
  | "enrolment.confirm_failed"
  /** The enrolment was not confirmed in time (`totp.enrolmentTtlSeconds`): it was removed. */
  | "enrolment.expired"
  | "enrolment.not_allowed";

/**
 * The query parameter of a flow's URL that carries its opening secret: the first visit binds the
 * flow to its browser only with it (`FlowRecord.openingHash`).
 */
export const OPENING_PARAMETER = "open";

/** What a flow page may be told through its URL when the browser comes back from the IdP. */
export const FLOW_RETURN_NOTICES = ["idp.mfa_unavailable", "idp.rejected"] as const;

/** Why a flow cannot go on, shown on the failure page. */
export type FlowFailureCode =
  | "flow.not_found"
  | "flow.expired"
  | "flow.used"
  | "flow.other_browser"
  | "flow.csrf"
  | "flow.return_to_not_allowed"
  | "flow.unavailable"
  /** A record the flow needs was altered outside the service: retrying will not help. */
  | "flow.cannot_complete";

/** The screens of a flow. */
export type FlowScreen =
  /** Go on elsewhere: back to the platform with the code, or to the tenant's IdP. */
  | { readonly kind: "redirect"; readonly location: string }
  /** Prove more: the ways the requirement can be met, best first. */
  | {
      readonly kind: "challenge";
      readonly frame: FlowFrame;
      readonly options: readonly FlowOption[];
      readonly notice?: FlowNotice;
      /** What the user proved already in this flow or a reused session, e.g. a password. */
      readonly proven: readonly string[];
    }
  /** A TOTP enrolment begun: scan or type the secret, then confirm with a first code. */
  | {
      readonly kind: "enroll_totp";
      readonly frame: FlowFrame;
      readonly authenticator: string;
      /** Base32, for typing in. Shown on this one page only. */
      readonly secret: string;
      readonly uri: string;
      readonly qrSvg: string;
      readonly notice?: FlowNotice;
    }
  /** A passkey or security key to register (the page runs the WebAuthn ceremony). */
  | {
      readonly kind: "enroll_webauthn";
      readonly frame: FlowFrame;
      readonly deviceBound: boolean;
      readonly notice?: FlowNotice;
    }
  /** An exemption lets the user through: who excused what, and until when. */
  | {
      readonly kind: "exemption";
      readonly frame: FlowFrame;
      readonly category: ExemptionCategory;
      readonly expiresAt: string;
      readonly breakGlass: boolean;
    }
  /** The policy is not enforced yet: what will be asked from when; continue or set up now. */
  | {
      readonly kind: "report_only";
      readonly frame: FlowFrame;
      readonly enforcementStartsAt: string;
      /** What enforcement will ask; empty when the user already meets it. */
      readonly options: readonly FlowOption[];
    }
  /** The sign-in is refused: why, in plain words, and what to do. */
  | {
      readonly kind: "denied";
      readonly frame: FlowFrame;
      readonly reasons: readonly Reason[];
      readonly decision: string;
      /** Back to the platform, with `error=access_denied`. */
      readonly returnTo?: string;
      /**
       * The IdP the principal signs in at, which was no way in: it is registered now with another
       * issuer or entity id than the principal was bound at, so its answers are refused
       * (`federation.idp_rebound`) until an administrator binds the principal again.
       */
      readonly staleBinding?: {
        readonly idp: string;
        readonly name: string;
        readonly reason: "federation.idp_rebound";
      };
    }
  /** The flow cannot go on (expired, used, another browser). */
  | {
      readonly kind: "failed";
      readonly code: FlowFailureCode;
      readonly tenant?: { readonly id: string; readonly name: string; readonly logoUrl?: string };
    };
