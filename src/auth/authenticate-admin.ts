/**
 * Admin authentication: a JWT from an admin issuer (never a sandbox issuer), then an admin rule.
 * The token comes from `Authorization: Bearer`, or from Cloudflare Access's `Cf-Access-Jwt-Assertion`
 * header when the admin routes sit behind Access. Pure apart from the key resolver.
 */
import type { JWTVerifyGetKey } from 'jose';
import { BrokerError } from '../errors.ts';
import { ruleGrants } from '../policy/authorize.ts';
import type { CompiledIssuer, CompiledPolicy } from '../policy/compile.ts';
import { checkTokenSize, MAX_AUTHORIZATION_HEADER_BYTES, readBearerToken } from './bearer.ts';
import { verifyToken, type VerifiedToken } from './verify-token.ts';

export interface AdminCredentials {
  authorization: string | null;
  accessAssertion: string | null;
}

export async function authenticateAdmin(
  credentials: AdminCredentials,
  context: { policy: CompiledPolicy; keysFor: (issuer: CompiledIssuer) => JWTVerifyGetKey; now: Date },
): Promise<VerifiedToken> {
  const token = credentials.accessAssertion?.trim() ? readAccessAssertion(credentials.accessAssertion) : readBearerToken(credentials.authorization);
  const admin = context.policy.admin;
  if (!admin) throw new BrokerError('forbidden', 'policy declares no admin access');
  return verifyToken(token, { issuers: admin.issuers, keysFor: context.keysFor, now: context.now });
}

/** Cloudflare Access's assertion header: the same size limits as a bearer token, before any decoding. */
function readAccessAssertion(header: string): string {
  if (header.length > MAX_AUTHORIZATION_HEADER_BYTES) throw new BrokerError('token_too_large', `Cf-Access-Jwt-Assertion of ${header.length} bytes`);
  return checkTokenSize(header.trim());
}

/** A verified admin token must also satisfy an admin rule (e.g. carry `role: token-broker-admin`). */
export function authorizeAdmin(policy: CompiledPolicy, admin: VerifiedToken): void {
  if (!policy.admin?.rules.some((rule) => ruleGrants(rule, admin.claims))) throw new BrokerError('forbidden', 'no admin rule matched');
}
