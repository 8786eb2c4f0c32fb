/**
 * The token-validation pipeline. Pure apart from the key resolver it is handed: takes a token string, the
 * compiled policy and the current time; returns the verified claims or throws a BrokerError with a token code.
 *
 * Steps, each with its own code: shape → algorithm → issuer → signature and registered claims (jose) →
 * lifetime and claim types.
 */
import { decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { BrokerError } from '../errors.ts';
import type { CompiledIssuer } from '../policy/compile.ts';
import { joseErrorToBrokerError } from './jose-errors.ts';

export const REQUIRED_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'iat', 'jti'] as const;
const MAX_ID_CLAIM_LENGTH = 256;

export interface VerifiedClaims extends JWTPayload {
  iss: string;
  sub: string;
  jti: string;
  exp: number;
  iat: number;
}

export interface VerifiedToken {
  readonly issuer: CompiledIssuer;
  readonly claims: Readonly<VerifiedClaims>;
}

export interface VerifyContext {
  /** The issuers this kind of token may come from: sandbox issuers, or admin issuers; never both. */
  issuers: ReadonlyMap<string, CompiledIssuer>;
  keysFor: (issuer: CompiledIssuer) => JWTVerifyGetKey;
  now: Date;
}

/** Claims read WITHOUT verification, only to pick the issuer and to label audit records of denials. */
export function peekClaims(token: string): Record<string, unknown> | undefined {
  try {
    return decodeJwt(token) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * Header parameters that would make us fetch keys, trust embedded keys or change the signing input. We
 * never follow them, and a token that carries them is refused outright (RFC 8725 §3.10).
 */
export const FORBIDDEN_HEADERS = ['jku', 'x5u', 'x5c', 'jwk', 'crit', 'b64'] as const;

export async function verifyToken(token: string, context: VerifyContext): Promise<VerifiedToken> {
  const header = decodeHeader(token);
  const forbidden = FORBIDDEN_HEADERS.find((name) => Object.hasOwn(header, name));
  if (forbidden) throw new BrokerError('forbidden_header', `header parameter ${forbidden}`);
  const alg = header.alg;
  if (typeof alg !== 'string' || alg.toLowerCase() === 'none' || /^HS/i.test(alg)) {
    throw new BrokerError('unsupported_algorithm', `alg ${String(alg).slice(0, 16)} never accepted`);
  }

  const unverified = peekClaims(token);
  if (!unverified) throw new BrokerError('malformed_token', 'payload is not a JSON object');
  if (unverified.iss === undefined) throw new BrokerError('missing_claim', 'iss');
  if (typeof unverified.iss !== 'string') throw new BrokerError('invalid_claim', 'iss is not a string');
  const issuer = context.issuers.get(unverified.iss);
  if (!issuer) throw new BrokerError('unknown_issuer', 'iss not in policy');
  if (!(issuer.algorithms as readonly string[]).includes(alg)) {
    throw new BrokerError('unsupported_algorithm', `alg ${alg} not allowed for issuer`);
  }

  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, context.keysFor(issuer), {
      issuer: issuer.iss,
      typ: issuer.typ,
      audience: [...issuer.audiences],
      algorithms: [...issuer.algorithms],
      clockTolerance: issuer.clockLeewaySeconds,
      currentDate: context.now,
      requiredClaims: [...REQUIRED_CLAIMS],
      // Also rejects an `iat` in the future (beyond leeway) and tokens issued too long ago.
      maxTokenAge: issuer.maxTokenLifetimeSeconds + issuer.clockLeewaySeconds,
    }));
  } catch (error) {
    throw joseErrorToBrokerError(error);
  }

  const claims = checkClaimTypes(payload);
  if (claims.exp - claims.iat > issuer.maxTokenLifetimeSeconds) {
    throw new BrokerError('token_lifetime_too_long', `exp - iat = ${claims.exp - claims.iat}s`);
  }
  return { issuer, claims };
}

const BASE64URL_SEGMENT = /^[A-Za-z0-9_-]*$/;

function decodeHeader(token: string) {
  const segments = token.split('.');
  if (segments.length !== 3) throw new BrokerError('malformed_token', 'not three segments');
  // One encoding per token: padding, standard-alphabet characters or stray bits make it malformed, so a
  // re-encoded copy of a token is never a second valid token.
  if (!segments.every((segment) => BASE64URL_SEGMENT.test(segment) && isCanonicalBase64url(segment))) {
    throw new BrokerError('malformed_token', 'segment is not canonical base64url');
  }
  try {
    return decodeProtectedHeader(token);
  } catch {
    throw new BrokerError('malformed_token', 'header is not base64url JSON');
  }
}

/** A base64url string is canonical when its length is possible and its unused trailing bits are zero. */
function isCanonicalBase64url(segment: string): boolean {
  const remainder = segment.length % 4;
  if (remainder === 1) return false;
  if (remainder === 0) return true;
  const last = BASE64URL_ALPHABET.indexOf(segment[segment.length - 1]!);
  const unusedBits = remainder === 2 ? 4 : 2;
  return (last & ((1 << unusedBits) - 1)) === 0;
}

const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function checkClaimTypes(payload: JWTPayload): VerifiedClaims {
  for (const claim of ['sub', 'jti'] as const) {
    const value = payload[claim];
    if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_CLAIM_LENGTH) {
      throw new BrokerError('invalid_claim', `${claim} must be a non-empty string of at most ${MAX_ID_CLAIM_LENGTH} characters`);
    }
  }
  return payload as VerifiedClaims;
}
