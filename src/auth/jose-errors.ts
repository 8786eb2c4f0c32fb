/** Maps jose's error codes onto the broker's token codes. Anything we do not recognise is a 500. */
import { errors } from 'jose';
import { BrokerError, type ErrorCode } from '../errors.ts';

const BY_CLAIM: Record<string, ErrorCode> = {
  nbf: 'token_not_yet_valid',
  iat: 'token_not_yet_valid',
  exp: 'token_expired',
  aud: 'invalid_audience',
  iss: 'unknown_issuer',
  typ: 'invalid_type',
};

export function joseErrorToBrokerError(error: unknown): BrokerError {
  if (error instanceof BrokerError) return error;
  if (error instanceof errors.JWTExpired) return new BrokerError('token_expired', error.message);
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return new BrokerError('missing_claim', error.claim);
    if (error.reason === 'invalid') return new BrokerError('invalid_claim', error.claim);
    return new BrokerError(BY_CLAIM[error.claim] ?? 'invalid_claim', error.message);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return new BrokerError('invalid_signature', 'signature mismatch');
  if (error instanceof errors.JWKSNoMatchingKey) return new BrokerError('unknown_key', 'no key matches kid/alg');
  // No `kid` while the issuer has several keys of the token's algorithm (normal during a rotation). jose 6
  // leaves it to the caller to try each; we refuse instead, so one token cannot cost N verifications.
  if (error instanceof errors.JWKSMultipleMatchingKeys) return new BrokerError('unknown_key', 'no kid, and several keys match its alg');
  if (error instanceof errors.JOSEAlgNotAllowed) return new BrokerError('unsupported_algorithm', error.message);
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) {
    return new BrokerError('malformed_token', error.message);
  }
  if (error instanceof errors.JOSENotSupported) return new BrokerError('malformed_token', error.message);
  if (error instanceof errors.JWKInvalid || error instanceof errors.JWKSInvalid) {
    return new BrokerError('config_invalid', `issuer key set invalid: ${error.message}`);
  }
  const name = error instanceof Error ? error.name : typeof error;
  return new BrokerError('internal_error', `unexpected verification error ${name}`, { cause: error });
}
