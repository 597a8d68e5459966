import type { TotpEvent } from "../../core/evidence.js";
import { authorize } from "../access/permissions.js";
import type { Application, AuthenticatorView, Caller } from "../application.js";
import { recordAudit, transact, type Context } from "../context.js";
import { AppError, type ErrorCode } from "../errors.js";
import type { Repositories, SecretSealer } from "../ports.js";
import type { AuthenticatorRecord } from "../records.js";
import { requireTenant } from "../tenants/tenants.js";
import {
  DEFAULT_TOTP_PARAMETERS,
  type TotpParameters,
  type TotpProtocol,
} from "./totp-protocol.js";

/** What the authenticator use cases need beyond the common context. */
export interface AuthenticatorParts {
  readonly secrets: SecretSealer;
  readonly totp: TotpProtocol;
}

/** NIST SP 800-63B §5.2.2 (rev 3) / §3.2.2 (rev 4): at most 100 consecutive failures. */
export const TOTP_FAILURE_LIMIT = 100;
const DEFAULT_NAME = "Authenticator app";
const NAME = /^[^\p{Cc}]{1,64}$/u;

/** The context a TOTP secret is sealed in: it opens for this authenticator only. */
export const totpSecretContext = (tenant: string, principal: string, id: string): string =>
  `authenticator:${tenant}:${principal}:${id}:totp_secret`;

type Attempt =
  | { readonly ok: true; readonly record: AuthenticatorRecord }
  | { readonly ok: false; readonly code: ErrorCode; readonly failedAttempts?: number };

/**
 * A principal's authenticators on the platform (TOTP for now). The platform's backend enrols and
 * verifies on the principal's behalf; administrators list and remove. Secrets are sealed before
 * they reach the store and shown once; each time step is accepted once; failures are counted and
 * lock the authenticator at {@link TOTP_FAILURE_LIMIT}. Every change is audited in its transaction,
 * never with a secret or a code.
 */
export function authenticatorUseCases(
  context: Context,
  parts: AuthenticatorParts | undefined,
): Application["authenticators"] {
  const need = (): AuthenticatorParts => {
    if (parts === undefined) throw new AppError("authenticator.not_configured");
    return parts;
  };

  /**
   * Checks `code` against `record` and records the outcome: `accept` on a match (activate or
   * accept the step), the failure count otherwise. Expected failures are returned, not thrown, so
   * that the failure count and its audit commit.
   */
  async function attempt(
    r: Repositories,
    caller: Caller,
    record: AuthenticatorRecord,
    code: string,
    accept: (step: number, at: string) => Promise<boolean>,
  ): Promise<Attempt> {
    const { secrets, totp } = need();
    const { tenant, principal, id } = record;
    const now = context.clock.now();
    const at = now.toISOString();
    if (record.lockedAt !== undefined) return { ok: false, code: "totp.locked" };
    const secret = secrets.open(record.sealedSecret, totpSecretContext(tenant, principal, id));
    const result = totp.verify({ secret, code, now, parameters: record.totp });
    let reason: ErrorCode;
    if (result.ok) {
      // RFC 6238 §5.2: a step at or before the last accepted one is a replay, even in the window.
      if (await accept(result.step, at)) {
        const updated = await r.authenticators.get(tenant, principal, id);
        if (updated === undefined) throw new AppError("not_found");
        return { ok: true, record: updated };
      }
      reason = "totp.replayed";
    } else {
      reason = result.code;
    }
    const counted = await r.authenticators.recordFailure(
      tenant,
      principal,
      id,
      TOTP_FAILURE_LIMIT,
      at,
    );
    if (counted === undefined) throw new AppError("not_found");
    await recordAudit(context, r, {
      tenant,
      type: "authenticator.verification_failed",
      actor: caller.id,
      payload: { ...subject(record), reason, failedAttempts: counted.failedAttempts },
    });
    if (counted.lockedAt !== undefined && record.lockedAt === undefined) {
      await recordAudit(context, r, {
        tenant,
        type: "authenticator.locked",
        actor: caller.id,
        payload: { ...subject(record), failedAttempts: counted.failedAttempts },
      });
    }
    return { ok: false, code: reason, failedAttempts: counted.failedAttempts };
  }

  const settle = (outcome: Attempt): AuthenticatorRecord => {
    if (outcome.ok) return outcome.record;
    throw new AppError(
      outcome.code,
      undefined,
      outcome.failedAttempts === undefined ? undefined : { failedAttempts: outcome.failedAttempts },
    );
  };

  const find = async (r: Repositories, tenant: string, principal: string, id: string) => {
    const record = await r.authenticators.get(tenant, principal, id);
    if (record === undefined) throw new AppError("not_found");
    return record;
  };

  /**
   * One code submitted to an authenticator in `status`: checked, accepted through `accept` (the
   * step's compare-and-set), and audited as `audit` when it counts, in one transaction.
   */
  async function useCode(
    caller: Caller,
    tenant: string,
    principal: string,
    id: string,
    code: string,
    use: {
      status: AuthenticatorRecord["status"];
      wrongStatus: string;
      audit: string;
      accept: (r: Repositories, step: number, at: string) => Promise<boolean>;
    },
  ): Promise<Attempt> {
    return transact(context, async (r): Promise<Attempt> => {
      const record = await find(r, tenant, principal, id);
      if (record.status !== use.status) {
        throw new AppError("authenticator.invalid_state", use.wrongStatus);
      }
      const result = await attempt(r, caller, record, code, (step, at) => use.accept(r, step, at));
      if (result.ok) {
        await recordAudit(context, r, {
          tenant,
          type: use.audit,
          actor: caller.id,
          payload: subject(result.record),
        });
      }
      return result;
    });
  }

  return {
    async list(caller, tenant, principal) {
      authorize(caller, "authenticator.read", tenant);
      const records = await transact(context, async (r) => {
        await requireTenant(r, tenant);
        return r.authenticators.list(tenant, principal);
      });
      return records.map(toView);
    },

    async beginTotp(caller, tenant, principal, input) {
      authorize(caller, "authenticator.enrol", tenant);
      const { secrets, totp } = need();
      const name = input.name ?? DEFAULT_NAME;
      if (!NAME.test(name) || name.trim().length === 0) {
        throw new AppError("authenticator.invalid", "A name is 1–64 characters, no control ones.");
      }
      const parameters: TotpParameters = {
        ...DEFAULT_TOTP_PARAMETERS,
        ...(input.algorithm === undefined ? {} : { algorithm: input.algorithm }),
        ...(input.digits === undefined ? {} : { digits: input.digits }),
      };
      const secret = totp.newSecret();
      const id = context.random.id("auth");
      const { record, issuer, label } = await transact(context, async (r) => {
        const owner = await requireTenant(r, tenant);
        const person = await r.principals.get(tenant, principal);
        if (person === undefined) throw new AppError("principal.unknown");
        const created: AuthenticatorRecord = {
          tenant,
          principal,
          id,
          kind: "totp",
          name,
          status: "pending",
          sealedSecret: secrets.seal(secret, totpSecretContext(tenant, principal, id)),
          totp: parameters,
          failedAttempts: 0,
          createdAt: context.clock.now().toISOString(),
        };
        await r.authenticators.insert(created);
        await recordAudit(context, r, {
          tenant,
          type: "authenticator.enrolment_started",
          actor: caller.id,
          payload: { ...subject(created), name, ...parameters },
        });
        return {
          record: created,
          issuer: owner.name.length > 0 ? owner.name : owner.id,
          label: person.displayName ?? person.id,
        };
      });
      const provisioning = await totp.provisioning({ secret, issuer, label, parameters });
      return { authenticator: toView(record), secret, ...provisioning };
    },

    async confirmTotp(caller, tenant, principal, id, { code }) {
      authorize(caller, "authenticator.enrol", tenant);
      need();
      const outcome = await useCode(caller, tenant, principal, id, code, {
        status: "pending",
        wrongStatus: "The authenticator is confirmed.",
        audit: "authenticator.confirmed",
        accept: (r, step, at) => r.authenticators.activate(tenant, principal, id, step, at),
      });
      return toView(settle(outcome));
    },

    async verifyTotp(caller, tenant, principal, id, { code }) {
      authorize(caller, "authenticator.verify", tenant);
      need();
      const outcome = await useCode(caller, tenant, principal, id, code, {
        status: "active",
        wrongStatus: "The authenticator awaits its first code: confirm it first.",
        audit: "authenticator.verified",
        accept: (r, step, at) => r.authenticators.acceptStep(tenant, principal, id, step, at),
      });
      const record = settle(outcome);
      const event: TotpEvent = {
        method: "totp",
        source: "platform",
        at: record.lastUsedAt ?? context.clock.now().toISOString(),
      };
      return { event, authenticator: toView(record) };
    },

    async remove(caller, tenant, principal, id) {
      authorize(caller, "authenticator.remove", tenant);
      await transact(context, async (r) => {
        const record = await find(r, tenant, principal, id);
        if (!(await r.authenticators.remove(tenant, principal, id))) {
          throw new AppError("not_found");
        }
        await recordAudit(context, r, {
          tenant,
          type: "authenticator.removed",
          actor: caller.id,
          payload: { ...subject(record), status: record.status },
        });
      });
    },
  };
}

/** Who and what an audit event is about: never a secret, never a code. */
const subject = (record: AuthenticatorRecord) => ({
  principal: record.principal,
  authenticator: record.id,
  kind: record.kind,
});

function toView(record: AuthenticatorRecord): AuthenticatorView {
  const { sealedSecret: _sealed, lastStep: _step, ...view } = record;
  return view;
}
