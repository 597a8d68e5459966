import { jwtVerify } from "jose";
import { FULL_MEASURE } from "../lib/measure.js";
import type { Section, SectionContext, SectionResult } from "../lib/section.js";
import { createOidcProtocol } from "../../src/verifiers/oidc/index.js";
import {
  browserCookie,
  decisionOf,
  IDP,
  openBenchApplication,
  RETURN_URL,
  TENANT,
  verifyStore,
} from "./federation/application.js";
import { describeRounds, scaledCount } from "./federation/closed-loop.js";
import { comparisonFigures, CONCURRENCY, fullBesideBare, ROUNDS } from "./federation/compare.js";
import { CLIENT_ID, InMemoryOidcProvider, ISSUER, SUBJECT } from "./federation/oidc-idp.js";
import { ScriptedRandom } from "./federation/scripted-random.js";

/** Sign-ins per round in a full run (about 2–5 s each on a two-core machine). */
const FULL_SIGN_INS_PER_ROUND = 400;
/** Bare `jwtVerify` calls per round in a full run. */
const FULL_BARE_PER_ROUND = 25000;
/** The issue's target: the full path at least this fraction of the bare verification. */
const TARGET_RATIO = 0.7;
/** `secret(24)` is the nonce in `app.federation.start` (federation.ts). */
const NONCE_BYTES = 24;

async function run({ measure, log }: SectionContext): Promise<SectionResult> {
  const perRound = scaledCount(FULL_SIGN_INS_PER_ROUND, measure.roundMs, FULL_MEASURE.roundMs);
  const barePerRound = scaledCount(FULL_BARE_PER_ROUND, measure.roundMs, FULL_MEASURE.roundMs);
  const signIns = perRound * (ROUNDS + 1);

  const provider = await InMemoryOidcProvider.create();
  const nonces = InMemoryOidcProvider.nonces(signIns);
  log(`signing ${String(signIns)} ID tokens in advance (RS256, 2048-bit key), untimed`);
  const signStarted = performance.now();
  const tokens = await provider.presign(nonces, (done) => {
    if (done % 2500 === 0) log(`  ${String(done)}/${String(signIns)} signed`);
  });
  const signSeconds = (performance.now() - signStarted) / 1000;

  const random = new ScriptedRandom();
  random.script(NONCE_BYTES, nonces);
  const bench = await openBenchApplication({
    random,
    registration: provider.registration(),
    oidc: createOidcProtocol({ fetch: provider.fetch }),
  });
  try {
    const { app } = bench;
    const decisionIds: string[] = [];
    const signIn = async (): Promise<void> => {
      // Each sign-in in a browser of its own: the callback comes back with the cookie the start
      // bound the request to.
      const browser = browserCookie();
      const started = await app.federation.start(TENANT, IDP, {
        returnTo: RETURN_URL,
        principal: SUBJECT,
        browser,
      });
      const { callbackUrl, state } = provider.callbackFor(started.location);
      const answered = await app.federation.oidcCallback(TENANT, IDP, {
        callbackUrl,
        state,
        browser,
      });
      decisionIds.push(decisionOf(answered.location));
    };
    let bareVerified = 0;
    const bare = async (index: number): Promise<void> => {
      const token = tokens[index % tokens.length] ?? "";
      const { payload } = await jwtVerify(token, provider.publicKey, {
        issuer: ISSUER,
        audience: CLIENT_ID,
        algorithms: ["RS256"],
      });
      if (payload.sub === SUBJECT) bareVerified++;
    };

    log(
      `measuring: a warm-up round, then ${String(ROUNDS)} rounds of ${String(perRound)} sign-ins ` +
        `and ${String(barePerRound)} bare jwtVerify calls, ${String(CONCURRENCY)} in flight, interleaved`,
    );
    const transactionsBefore = bench.transactions();
    const result = await fullBesideBare({
      fullPerRound: perRound,
      barePerRound,
      full: signIn,
      bare,
      log,
    });
    if (bareVerified !== barePerRound * (ROUNDS + 1)) throw new Error("a bare verification failed");

    const transactionsPerSignIn = (bench.transactions() - transactionsBefore) / signIns;
    log("checking the store: receipts, outcomes, audit chain");
    const check = await verifyStore(bench, signIns, decisionIds);

    const ratio = result.fullPerSecond / result.barePerSecond;
    const figures = comparisonFigures(
      result,
      {
        full: "OIDC sign-ins through the full path (start → callback → receipt, audit)",
        bare: "jose.jwtVerify of the same ID tokens (RS256), 64 in flight",
        bareUnit: "tokens/s",
      },
      TARGET_RATIO,
    );
    const notes = [
      "full path, timed per sign-in: app.federation.start(acme, corp, {principal, return_to, " +
        "browser}) (IdP and policy lookup, plan, state + nonce + sealed PKCE verifier + the " +
        "browser cookie's digest stored, authorization URL) → " +
        "the browser's hop (reading state and nonce from that URL, building the callback URL) → " +
        "app.federation.oidcCallback (request lookup, the cookie's digest compared, token " +
        "request through the injected fetch, " +
        "token-response parsing, ID-token header, signature with the cached JWKS key, claims incl. " +
        "nonce, request consumed + nonce claimed once, decision, receipt + decision.recorded " +
        "audit event, drift observation) — all committed to a SQLite file (WAL, synchronous=NORMAL)",
      "the application is built as openApplication builds it (openStore on a temporary file, " +
        "createApplication, AES-GCM sealer, createSamlProtocol(), createOidcProtocol), except: " +
        "its Random hands out the nonces from a list prepared in advance (secret(24)), and " +
        "createOidcProtocol gets a fetch that answers discovery, JWKS and the token endpoint " +
        "in memory (new Response(JSON)); no network, and the IdP's work is not timed: " +
        `the ${String(signIns)} ID tokens were signed before (${signSeconds.toFixed(1)} s), ` +
        "the token endpoint looks the token up by its code (= the nonce)",
      `IdP fetches: discovery ${String(provider.served.discovery)}, JWKS ${String(provider.served.jwks)}, ` +
        `token ${String(provider.served.token)} (the verifier caches discovery and keys)`,
      "bare: jose.jwtVerify(token, key, { issuer, audience, algorithms: ['RS256'] }) over the same " +
        "tokens, the key imported once — no nonce, azp, auth_time, state, store or decision",
      describeRounds("full", result.full, "sign-ins/s"),
      describeRounds("bare", result.bare, "tokens/s"),
      check.summary,
      `ratio ${ratio.toFixed(2)} ${ratio >= TARGET_RATIO ? "meets" : "misses"} the target ` +
        `${String(TARGET_RATIO)}. What limits: a sign-in is two use cases and ` +
        `${transactionsPerSignIn.toFixed(1)} store transactions (BEGIN IMMEDIATE … COMMIT on the ` +
        "one SQLite connection, concurrent ones sharing a commit) and reads between them, where the bare path is one RSA " +
        "verification in memory; bench/README.md has a profile of where the time goes",
      "the machine may be shared: compare medians taken on a quiet one",
    ];
    return { figures, notes };
  } finally {
    await bench.close();
  }
}

/** Verified OIDC sign-ins per second through the whole path, beside jose.jwtVerify. */
export const oidcSection: Section = {
  name: "oidc",
  title: "OIDC sign-ins through the full path vs jose.jwtVerify, in-process, 64 in flight",
  run,
};
