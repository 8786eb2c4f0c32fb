/**
 * Bench-only Worker, loaded next to the broker in the same Miniflare instance (so in the same workerd):
 * times the per-request crypto of an issuance from INSIDE workerd, N calls in a row after a warm-up.
 *
 *   POST /  {"n": 2000, "tokens": {"ES256": "…", "EdDSA": "…"}, "policy": {…}}
 *
 * Measured, each as µs per call:
 *   - `jwtVerify` (jose) with the broker's options and an inline-JWKS resolver (createLocalJWKSet caches the
 *     imported key, as the broker's KeySets does), for ES256 and EdDSA;
 *   - the broker's whole `verifyToken` step (header checks, canonical base64url, decode, jwtVerify, claims);
 *   - the value fingerprint (HMAC-SHA256, WebCrypto) and the ledger record hash (SHA-256 in JS, @noble/hashes);
 *   - a baseline: an awaited no-op, the floor any async step costs.
 * Local workerd advances its clock during CPU work (unlike production, where time moves only on I/O), so
 * performance.now() around a loop measures it; a timer await at the end makes sure the clock has caught up.
 */
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { createFingerprinter } from '../../src/audit/fingerprint.ts';
import { REQUIRED_CLAIMS, verifyToken } from '../../src/auth/verify-token.ts';
import { hashRecord } from '../../src/ledger/ledger-record.ts';
import { compilePolicy, type CompiledIssuer } from '../../src/policy/compile.ts';

interface ProbeRequest {
  /** Calls per measurement. */
  n: number;
  /** Every measurement is repeated this many times, interleaved; the median is reported. */
  rounds: number;
  tokens: Record<string, string>;
  policy: unknown;
}

async function timeIt(n: number, call: () => Promise<unknown> | unknown): Promise<number> {
  for (let i = 0; i < Math.min(50, n); i++) await call();
  const started = performance.now();
  for (let i = 0; i < n; i++) await call();
  await new Promise((resolve) => setTimeout(resolve, 0));
  return ((performance.now() - started) * 1000) / n;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

function joseOptions(issuer: CompiledIssuer, now: Date) {
  return {
    issuer: issuer.iss,
    typ: issuer.typ,
    audience: [...issuer.audiences],
    algorithms: [...issuer.algorithms],
    clockTolerance: issuer.clockLeewaySeconds,
    currentDate: now,
    requiredClaims: [...REQUIRED_CLAIMS],
    maxTokenAge: issuer.maxTokenLifetimeSeconds + issuer.clockLeewaySeconds,
  };
}

export default {
  async fetch(request: Request): Promise<Response> {
    const { n, rounds, tokens, policy: document } = (await request.json()) as ProbeRequest;
    const policy = compilePolicy(document);
    const issuer = [...policy.issuers.values()][0]!;
    if (issuer.keySource.type !== 'inline') throw new Error('bench policy must inline its keys');
    const keys: JWTVerifyGetKey = createLocalJWKSet(issuer.keySource.jwks as unknown as JSONWebKeySet);
    const now = new Date();
    const fingerprint = createFingerprinter('bench-audit-key-0123456789abcdef0123456789abcdef');
    const record = {
      type: 'audit' as const,
      time: now.toISOString(),
      request_id: crypto.randomUUID(),
      action: 'credential.issue',
      outcome: 'issued' as const,
      reason: null,
      detail: null,
      token_verified: true,
      iss: issuer.iss,
      sub: 'sb-bench-0-0123abcd',
      jti: crypto.randomUUID(),
      credential: 'codex',
      secret_version_id: crypto.randomUUID(),
      issuance_id: crypto.randomUUID(),
      served_stale: false,
      value_fingerprint: `hmac-sha256:${'ab'.repeat(32)}`,
      client_ip: '203.0.113.7',
      user_agent: 'curl/8.5.0',
      shard: 0,
      seq: 1,
      prev_hash: '0'.repeat(64),
    };
    const measurements: Record<string, () => unknown> = { awaitNoop: () => Promise.resolve() };
    for (const [alg, token] of Object.entries(tokens)) {
      measurements[`jwtVerify_${alg}`] = () => jwtVerify(token, keys, joseOptions(issuer, now));
      measurements[`verifyToken_${alg}`] = () => verifyToken(token, { issuers: policy.issuers, keysFor: () => keys, now });
    }
    measurements.hmacFingerprint = () => fingerprint('at-BENCH-0123456789abcdef0123456789abcdef');
    measurements.ledgerRecordHash = () => hashRecord(record);

    const samples: Record<string, number[]> = {};
    for (let round = 0; round < rounds; round++) {
      for (const [name, call] of Object.entries(measurements)) (samples[name] ??= []).push(await timeIt(n, call));
    }
    const microsPerCall = Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]));
    return Response.json({ n, rounds, microsPerCall, samples });
  },
} satisfies ExportedHandler;
