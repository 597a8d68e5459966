import { describe, expect, it } from "vitest";
import { AppError, ERROR_CODES, type ErrorCode } from "../app/errors.js";
import { ERROR_STATUSES, HTTP_PROBLEMS } from "./error-statuses.js";
import { HttpProblem, InvalidRequest, renderProblem } from "./problem.js";

// The contract, written out: changing a status is a visible, reviewed change to this table.
const EXPECTED: Record<ErrorCode, number> = {
  "auth.missing_credentials": 401,
  "auth.invalid_credentials": 401,
  "auth.forbidden": 403,
  "request.invalid": 400,
  "evidence.unverified": 422,
  "evidence.withdrawn": 422,
  not_found: 404,
  "tenant.exists": 409,
  "tenant.settings_conflict": 412,
  "policy.precondition_required": 428,
  "policy.version_conflict": 412,
  "policy.invalid": 422,
  "mandate.invalid": 422,
  "mandate.retired": 409,
  "mandate.exists": 409,
  "bootstrap.exists": 409,
  "mandate.precondition_required": 428,
  "mandate.version_conflict": 412,
  "exemption.shared_login_refused": 422,
  "exemption.expiry_required": 422,
  "exemption.too_long": 422,
  "exemption.renewal_limit": 422,
  "exemption.tenant_limit": 422,
  "exemption.starts_too_late": 422,
  "exemption.expired": 409,
  "exemption.self_approval": 403,
  "exemption.requester_revoked": 409,
  "exemption.invalid_state": 409,
  "principal.unknown": 422,
  "principal.population_locked": 409,
  "principal.shared_login_locked": 409,
  "idp.invalid": 422,
  "idp.precondition_required": 428,
  "idp.version_conflict": 412,
  "idp.metadata_expired": 422,
  "federation.not_configured": 503,
  "federation.return_to_not_allowed": 400,
  "federation.request_unknown": 400,
  "federation.rejected": 400,
  "federation.subject_mismatch": 403,
  "federation.browser_mismatch": 403,
  "federation.answer_unknown": 400,
  "authenticator.not_configured": 503,
  "authenticator.invalid": 422,
  "authenticator.invalid_state": 409,
  "authenticator.throttled": 429,
  "authenticator.locked": 423,
  "authenticator.fresh_mfa_required": 403,
  "authenticator.enrolment_expired": 409,
  "authenticator.last_method": 409,
  "totp.malformed_code": 400,
  "totp.wrong_code": 422,
  "totp.replayed": 422,
  "totp.locked": 423,
  "assurance.not_configured": 503,
  "assurance.not_allowed": 409,
  "flow.return_to_not_allowed": 400,
  "flow.audience_not_allowed": 403,
  "audit.checkpoint_invalid": 400,
  "flow.code_invalid": 400,
  "flow.unusable": 403,
  "flow.enrolment_not_allowed": 403,
  "secret.unavailable": 503,
  "secret.reseal_incomplete": 503,
  "signing_key.opens": 409,
  "signing_key.published_changed": 409,
  "receipt.tampered": 500,
  "audit.chain_damaged": 500,
  "recovery_code.not_configured": 503,
  "recovery_code.malformed_code": 400,
  "recovery_code.wrong_code": 422,
  "recovery_code.used": 422,
  "recovery_code.locked": 423,
  "webauthn.not_configured": 409,
  "webauthn.settings_conflict": 412,
  "webauthn.settings_invalid": 422,
  "webauthn.challenge_unknown": 400,
  "webauthn.challenge_expired": 400,
  "webauthn.malformed_response": 400,
  "webauthn.wrong_type": 400,
  "webauthn.challenge_mismatch": 400,
  "webauthn.origin_not_allowed": 400,
  "webauthn.cross_origin": 400,
  "webauthn.rp_id_mismatch": 400,
  "webauthn.user_not_present": 422,
  "webauthn.user_not_verified": 422,
  "webauthn.backup_flags_invalid": 422,
  "webauthn.backup_eligibility_changed": 422,
  "webauthn.bad_signature": 422,
  "webauthn.algorithm_not_allowed": 422,
  "webauthn.aaguid_not_allowed": 422,
  "webauthn.attestation_rejected": 422,
  "webauthn.attestation_untrusted": 422,
  "webauthn.credential_unknown": 422,
  "webauthn.credential_exists": 409,
  "webauthn.no_credentials": 422,
  "webauthn.clone_detected": 422,
  "webauthn.concurrent_use": 409,
  "webauthn.locked": 423,
  "webauthn.unavailable": 503,
  "store.record_damaged": 500,
  "store.unavailable": 503,
};

describe("problem mapping", () => {
  it("maps every application error code, and only those", () => {
    expect(Object.keys(ERROR_STATUSES).sort()).toEqual(Object.keys(ERROR_CODES).sort());
    expect(Object.keys(EXPECTED).sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it.each(Object.keys(ERROR_CODES) as ErrorCode[])(
    "renders %s as an RFC 9457 problem with its status",
    (code) => {
      const { problem, unexpected } = renderProblem(new AppError(code, "what happened"), "/v1/x");
      expect(problem).toEqual({
        type: `urn:tenant-mfa:problem:${code}`,
        title: ERROR_CODES[code],
        status: EXPECTED[code],
        detail: "what happened",
        code,
        instance: "/v1/x",
        // An outage says when to try again, in the body as in Retry-After.
        ...(code === "store.unavailable" ? { retryAfter: 5 } : {}),
      });
      expect(unexpected).toBe(false);
    },
  );

  it("challenges with WWW-Authenticate: Bearer on both 401 codes (RFC 6750 §3)", () => {
    expect(renderProblem(new AppError("auth.missing_credentials"), "/").headers).toEqual({
      "www-authenticate": 'Bearer realm="tenant-mfa"',
    });
    expect(renderProblem(new AppError("auth.invalid_credentials"), "/").headers).toEqual({
      "www-authenticate": 'Bearer realm="tenant-mfa", error="invalid_token"',
    });
    expect(renderProblem(new AppError("auth.forbidden"), "/").headers).toEqual({});
  });

  it("tells a throttled client when to retry: Retry-After and `retryAfter`, in seconds", () => {
    const throttled = renderProblem(
      new AppError("authenticator.throttled", undefined, { retryAfter: 8 }),
      "/v1/x",
    );
    expect(throttled.headers).toEqual({ "retry-after": "8" });
    expect(throttled.problem).toMatchObject({
      status: 429,
      retryAfter: 8,
      details: { retryAfter: 8 },
    });
    const bogus = renderProblem(
      new AppError("authenticator.throttled", undefined, { retryAfter: "soon" }),
      "/v1/x",
    );
    expect(bogus.headers).toEqual({});
    expect(bogus.problem).not.toHaveProperty("retryAfter");
  });

  it("shows the details of a refusal but never those of an outage", () => {
    const conflict = renderProblem(
      new AppError("policy.version_conflict", undefined, { currentVersion: 4 }),
      "/",
    );
    expect(conflict.problem.details).toEqual({ currentVersion: 4 });
    const outage = renderProblem(
      new AppError("store.unavailable", undefined, { cause: "connect ECONNREFUSED 10.0.0.5:5432" }),
      "/",
    );
    expect(outage.problem.status).toBe(503);
    expect(JSON.stringify(outage.problem)).not.toContain("ECONNREFUSED");
    expect(outage.headers).toEqual({ "retry-after": "5" });
    expect(outage.problem).toMatchObject({ retryAfter: 5 });
    // A verifier that could not run: when to try again, but not what failed inside.
    const unchecked = renderProblem(
      new AppError("webauthn.unavailable", undefined, {
        retryAfter: 1,
        cause: "A WebAuthn verification thread failed: it stopped (exit code 1)",
      }),
      "/",
    );
    expect(unchecked.problem.status).toBe(503);
    expect(JSON.stringify(unchecked.problem)).not.toContain("thread");
    expect(unchecked.headers).toEqual({ "retry-after": "1" });
    expect(unchecked.problem).toMatchObject({ retryAfter: 1 });
  });

  it("renders unexpected errors as 500 `internal` without their message", () => {
    const { problem, unexpected } = renderProblem(
      new TypeError("cannot read secret of undefined at db.ts:12"),
      "/v1/x",
    );
    expect(problem.status).toBe(500);
    expect(problem.code).toBe("internal");
    expect(problem.detail).toBe(HTTP_PROBLEMS.internal.title);
    expect(JSON.stringify(problem)).not.toContain("secret");
    expect(unexpected).toBe(true);
    expect(renderProblem("a string", undefined).problem.code).toBe("internal");
    expect(renderProblem(null, undefined).problem.code).toBe("internal");
  });

  it.each(Object.keys(HTTP_PROBLEMS) as (keyof typeof HTTP_PROBLEMS)[])(
    "renders the HTTP-layer code %s with its status",
    (code) => {
      const { problem, headers } = renderProblem(new HttpProblem(code, undefined, { a: "b" }), "/");
      expect(problem.status).toBe(HTTP_PROBLEMS[code].status);
      expect(problem.code).toBe(code);
      expect(problem.type).toBe(`urn:tenant-mfa:problem:${code}`);
      expect(headers).toEqual({ a: "b" });
    },
  );

  it("lists every invalid part of a request", () => {
    const errors = [
      { pointer: "#/name", detail: "expected string" },
      { pointer: "#/extra", detail: "unknown field" },
    ];
    const { problem } = renderProblem(new InvalidRequest(errors), "/");
    expect(problem).toMatchObject({
      status: 400,
      code: "request.invalid",
      detail: "#/name: expected string (and 1 more)",
      errors,
    });
  });

  it.each([
    ["FST_ERR_CTP_BODY_TOO_LARGE", 413, "request.too_large"],
    ["FST_ERR_CTP_INVALID_MEDIA_TYPE", 415, "request.unsupported_media_type"],
    ["FST_ERR_CTP_INVALID_JSON_BODY", 400, "request.invalid"],
    ["FST_ERR_CTP_EMPTY_JSON_BODY", 400, "request.invalid"],
    ["FST_ERR_CTP_INVALID_CONTENT_LENGTH", 400, "request.invalid"],
    ["FST_ERR_SOMETHING_NEW", 400, "request.invalid"],
  ])("maps Fastify's %s to %i %s", (fastifyCode, status, code) => {
    const error = Object.assign(new Error("raw framework message"), {
      code: fastifyCode,
      statusCode: fastifyCode === "FST_ERR_SOMETHING_NEW" ? 400 : status,
    });
    const { problem } = renderProblem(error, "/");
    expect([problem.status, problem.code]).toEqual([status, code]);
    expect(problem.detail).not.toContain("raw framework message");
  });
});
