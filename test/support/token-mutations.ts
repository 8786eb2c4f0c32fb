/**
 * Random mutations of valid sandbox tokens, for property tests (workerd) and drills (Node scripts).
 *
 * Runtime-neutral on purpose: only jose, fast-check and Web APIs (crypto.subtle, atob/btoa, TextEncoder)
 * that workerd and Node ≥ 20 both have. No `cloudflare:*`, no `node:*`, no vitest.
 *
 * A mutation is plain JSON data (a "recipe"), so fast-check prints a counterexample you can paste back
 * into `applyMutations` to reproduce it. Recipes never carry absolute times or keys: times are offsets from
 * the base token's `iat`, keys are names resolved against a `MutationWorld`.
 *
 * Soundness of chains (several mutations applied in order): every single mutation either introduces a
 * defect that no later mutation writes back to a valid value (generators only ever write invalid values),
 * or leaves its input unchanged; string-level edits can only get back to a valid token by reproducing the
 * base token exactly, which `applyMutations` reports as `undefined` (skip it: `fc.pre`). So a chain that
 * yields a token at all yields one the broker must refuse.
 *
 * Deliberately NOT generated, because the token stays valid (they are covered as "accepted equivalents"):
 * `bearer`/`BEARER` scheme case, extra spaces after the scheme, leading/trailing spaces (HTTP strips them),
 * a re-signed header without `kid` (the issuer's only key of that type is used), `typ` spelled
 * `application/sandbox+jwt` or in another case (media types are case-insensitive, RFC 7515 §4.1.9), an
 * `aud` array that contains ours, extra claims or header parameters, a UTF-8 BOM before the header JSON
 * (TextDecoder drops one), an ECDSA signature (r, n − s).
 */
import fc from 'fast-check';
import { base64url, importJWK, type JWK } from 'jose';
import { mintSandboxToken } from '../../src/sdk/mint-sandbox-token.ts';

// ---------------------------------------------------------------------------------------------------------
// The world the mutations are resolved against
// ---------------------------------------------------------------------------------------------------------

/** Private JWKs (with `alg` and `kid`). `primary` and `eddsa` are trusted for `issuer`; `other` for `otherIssuer`. */
export interface MutationKeys {
  primary: JWK;
  eddsa: JWK;
  /** Trusted by nobody. */
  stranger: JWK;
  /** Trusted for `otherIssuer` only. */
  other: JWK;
  /** Trusted for admin tokens only, never for sandbox tokens. */
  admin: JWK;
}

export interface MutationWorld {
  keys: MutationKeys;
  issuer: string;
  otherIssuer: string;
  adminIssuer: string;
  audience: string;
  adminAudience: string;
  /** The target credential's subject rule is `${subjectPrefix}*`. */
  subjectPrefix: string;
  /** The `typ` the broker expects. */
  typ: string;
  leewaySeconds: number;
  maxLifetimeSeconds: number;
  maxTokenBytes: number;
  maxAuthorizationBytes: number;
}

export const WORLD_DEFAULTS = {
  subjectPrefix: 'sb-',
  typ: 'sandbox+jwt',
  leewaySeconds: 30,
  maxLifetimeSeconds: 900,
  maxTokenBytes: 4 * 1024,
  maxAuthorizationBytes: 8 * 1024,
} as const;

/** Which trusted key signed the base token. Re-signing mutations sign with the same key. */
export type BaseKey = 'primary' | 'eddsa';

export interface BaseToken {
  token: string;
  key: BaseKey;
}

/** A fresh valid base token (new `jti`), as an orchestrator mints it. */
export function mintBase(world: MutationWorld, key: BaseKey, subject = `${world.subjectPrefix}mutation-${crypto.randomUUID().slice(0, 8)}`): Promise<BaseToken> {
  return mintSandboxToken({ privateJwk: world.keys[key], issuer: world.issuer, subject, audience: world.audience }).then((token) => ({ token, key }));
}

// ---------------------------------------------------------------------------------------------------------
// Recipes
// ---------------------------------------------------------------------------------------------------------

export const FAMILIES = ['structure', 'header', 'claims', 'unsigned', 'wrongKey', 'encoding', 'size'] as const;
export type Family = (typeof FAMILIES)[number];

type Segment = 0 | 1 | 2;
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** 1. String-level edits of the compact serialization (nothing re-signed). */
export type StructureMutation =
  | { family: 'structure'; op: 'replace'; segment: Segment; at: number; char: string }
  | { family: 'structure'; op: 'delete'; segment: Segment; at: number; count: number }
  | { family: 'structure'; op: 'insert'; segment: Segment; at: number; text: string }
  | { family: 'structure'; op: 'swap'; a: Segment; b: Segment }
  | { family: 'structure'; op: 'drop'; segment: Segment }
  | { family: 'structure'; op: 'duplicate'; segment: Segment; at: number }
  | { family: 'structure'; op: 'dots'; where: 'start' | 'end' | 'after0' | 'after1'; count: number }
  | { family: 'structure'; op: 'truncate'; keep: number }
  | { family: 'structure'; op: 'empty'; segment: Segment };

/** 2. Header changes, re-signed with the trusted key that signed the base (the signature is valid). */
export type HeaderMutation =
  | { family: 'header'; op: 'set'; name: 'alg' | 'typ' | 'kid'; value: Json | KidRef }
  | { family: 'header'; op: 'remove'; name: 'alg' | 'typ' }
  | { family: 'header'; op: 'forbidden'; name: 'jku' | 'x5u' | 'x5c' | 'jwk' | 'crit' | 'b64'; value: Json | KidRef }
  | { family: 'header'; op: 'raw'; text: string }
  | { family: 'header'; op: 'duplicateParam'; name: 'alg' | 'typ' | 'kid'; last: Json };

/** 3. Claim changes, re-signed with the trusted key. */
export type ClaimsMutation =
  | { family: 'claims'; op: 'remove'; claim: 'iss' | 'sub' | 'aud' | 'exp' | 'iat' | 'jti' }
  | { family: 'claims'; op: 'set'; claim: 'iss' | 'sub' | 'aud' | 'exp' | 'iat' | 'nbf' | 'jti'; value: Json | ClaimRef }
  | { family: 'claims'; op: 'time'; kind: 'expired' | 'lifetime' | 'iatFuture' | 'nbfFuture' | 'iatPast'; seconds: number }
  | { family: 'claims'; op: 'raw'; text: string }
  | { family: 'claims'; op: 'duplicateClaim'; claim: 'iss' | 'aud' | 'exp'; last: Json | ClaimRef };

/** 4. Header or claims changed after signing, signature kept (or taken from another token). */
export type UnsignedMutation =
  | { family: 'unsigned'; op: 'claims'; change: UnsignedClaimChange }
  | { family: 'unsigned'; op: 'header'; change: UnsignedHeaderChange }
  | { family: 'unsigned'; op: 'spliceSignature'; from: 'sameKeyOtherJti' | 'otherTrustedKey' | 'sameKeyOtherHeader' };

/** 5. Signed with a key the issuer does not use for this token (or with an algorithm the key is not for). */
export type WrongKeyMutation =
  | { family: 'wrongKey'; op: 'foreign'; key: 'stranger' | 'other' | 'admin'; kid: KidChoice; iss: 'base' | 'keyOwner' }
  | { family: 'wrongKey'; op: 'crossAlgorithm'; signer: BaseKey; kid: 'signer' | 'headerAlg' }
  | { family: 'wrongKey'; op: 'embeddedJwk'; kid: 'stranger' | 'primary' | 'none' }
  | { family: 'wrongKey'; op: 'hmacWithPublicKey'; alg: 'HS256' | 'HS384' | 'HS512'; secret: 'jwkJson' | 'x' | 'crv' };

/** 6. Re-encodings of the token, and non-equivalent changes to the Authorization header around it. */
export type EncodingMutation =
  | { family: 'encoding'; op: 'pad'; segment: Segment; extra: number }
  | { family: 'encoding'; op: 'standardAlphabet'; segment: Segment }
  | { family: 'encoding'; op: 'nonCanonical'; segment: Segment; flip: number }
  | { family: 'encoding'; op: 'whitespaceInside'; at: number; ws: string }
  | { family: 'encoding'; op: 'caseFlip'; segment: Segment; to: 'lower' | 'upper' }
  | { family: 'encoding'; op: 'percentEncode'; what: 'dots' | 'first' }
  | { family: 'encoding'; op: 'scheme'; value: string }
  | { family: 'encoding'; op: 'separator'; value: string }
  | { family: 'encoding'; op: 'suffix'; value: string }
  | { family: 'encoding'; op: 'quote' };

/** 7. Oversized tokens and Authorization headers. */
export type SizeMutation =
  | { family: 'size'; op: 'bigClaim'; length: number }
  | { family: 'size'; op: 'bigHeader'; length: number }
  | { family: 'size'; op: 'appendGarbage'; length: number }
  | { family: 'size'; op: 'spacesAfterScheme'; length: number };

export type Mutation = StructureMutation | HeaderMutation | ClaimsMutation | UnsignedMutation | WrongKeyMutation | EncodingMutation | SizeMutation;

/** Symbolic kid values, resolved at apply time (recipes carry no key material). */
type KidRef = { ref: 'strangerKid' | 'otherKid' | 'adminKid' | 'otherTrustedKid' | 'baseKidArray' | 'baseKidPadded' | 'baseKidUpper' | 'strangerPublicJwk' | 'basePublicJwk' };
type ClaimRef = { ref: 'otherIssuer' | 'adminIssuer' | 'adminAudience' | 'issuerSlash' | 'issuerUpper' | 'issuerHttp' | 'audienceSlash' | 'audienceUpper' | 'audienceArrayWithout' | 'expString' | 'iatString' | 'expArray' | 'subjectUpper' | 'subjectSpace' | 'subjectTooLong' | 'jtiTooLong' | 'issuerArray' | 'issuerNul' };
type KidChoice = 'own' | 'base' | 'otherTrusted' | 'none';
type UnsignedClaimChange =
  | { set: 'sub' | 'jti'; value: string }
  | { set: 'exp'; offset: number }
  | { set: 'team'; value: string }
  | { set: 'audArray' }
  | { reserialize: 'spaces' | 'reordered' }
  | { apply: ClaimsMutation };
type UnsignedHeaderChange = { reserialize: 'spaces' | 'reordered' } | { apply: HeaderMutation } | { set: 'kidRemoved' };

// ---------------------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------------------

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const segment = fc.constantFrom<Segment>(0, 1, 2);
const b64char = fc.constantFrom(...B64URL.split(''));
/** Characters outside base64url, all sendable in an HTTP header value. */
const foreignChar = fc.constantFrom('.', '~', '+', '/', '=', '%', '*', '!', '"', ',', ';', ' ', '\t', '\u00a0');
const anyJson: fc.Arbitrary<Json> = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constant([] as Json[]),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 8 })), { minLength: 1, maxLength: 3 }),
  fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
);
const notAString = anyJson.filter((value) => typeof value !== 'string');
const notANumber = fc.oneof(fc.string({ maxLength: 12 }), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }), fc.constant({}));

export const structureMutation: fc.Arbitrary<StructureMutation> = fc.oneof(
  fc.record({ family: fc.constant('structure'), op: fc.constant('replace'), segment, at: fc.nat(), char: fc.oneof({ weight: 4, arbitrary: b64char }, { weight: 1, arbitrary: foreignChar }) }),
  fc.record({ family: fc.constant('structure'), op: fc.constant('delete'), segment, at: fc.nat(), count: fc.integer({ min: 1, max: 4 }) }),
  fc.record({
    family: fc.constant('structure'),
    op: fc.constant('insert'),
    segment,
    at: fc.nat(),
    text: fc.oneof(b64char, fc.string({ unit: b64char, minLength: 2, maxLength: 5 }), foreignChar),
  }),
  fc.record({ family: fc.constant('structure'), op: fc.constant('swap'), a: segment, b: segment }).filter(({ a, b }) => a !== b),
  fc.record({ family: fc.constant('structure'), op: fc.constant('drop'), segment }),
  fc.record({ family: fc.constant('structure'), op: fc.constant('duplicate'), segment, at: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ family: fc.constant('structure'), op: fc.constant('dots'), where: fc.constantFrom('start', 'end', 'after0', 'after1'), count: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ family: fc.constant('structure'), op: fc.constant('truncate'), keep: fc.nat() }),
  fc.record({ family: fc.constant('structure'), op: fc.constant('empty'), segment }),
) as fc.Arbitrary<StructureMutation>;

/** Never an accepted value for any base token: not ES256/EdDSA, and no fully-specified alias the issuer allows. */
const badAlg = fc.oneof(
  fc.constantFrom('none', 'None', 'NONE', 'nOnE', 'HS256', 'HS384', 'HS512', 'hs256', 'RS256', 'RS512', 'PS256', 'ES384', 'ES512', 'ES256K', 'es256', 'eddsa', 'EDDSA', 'Ed25519', 'Ed448', '', ' ES256', 'ES256 ', 'ES256\u0000'),
  notAString,
  fc.string({ maxLength: 10 }).filter((alg) => alg !== 'ES256' && alg !== 'EdDSA'),
);
/** jose compares `typ` as a media type: case-insensitive, `application/` optional. These never match `sandbox+jwt`. */
const badTyp = fc.oneof(
  fc.constantFrom('JWT', 'jwt', 'at+jwt', 'application/at+jwt', 'admin+jwt', 'application/jwt', 'sandbox', 'sandbox-jwt', 'sandbox+jws', 'sandbox+jwt ', ' sandbox+jwt', 'sandbox+jwt; v=1', 'text/sandbox+jwt', 'application/sandbox+jwt+x', 'sandbox+jwt\u0000', ''),
  notAString,
  fc.string({ maxLength: 12 }).filter((typ) => normalizeTyp(typ) !== 'application/sandbox+jwt'),
);
const badKid = fc.oneof(
  fc.constantFrom<KidRef>(
    { ref: 'strangerKid' },
    { ref: 'otherKid' },
    { ref: 'adminKid' },
    { ref: 'otherTrustedKid' },
    { ref: 'baseKidArray' },
    { ref: 'baseKidPadded' },
    { ref: 'baseKidUpper' },
  ),
  fc.string({ maxLength: 16 }).map((kid) => `nokey-${kid}`),
  fc.constant(''),
  notAString,
);

export const headerMutation: fc.Arbitrary<HeaderMutation> = fc.oneof(
  fc.record({ family: fc.constant('header'), op: fc.constant('set'), name: fc.constant('alg'), value: badAlg }),
  fc.record({ family: fc.constant('header'), op: fc.constant('set'), name: fc.constant('typ'), value: badTyp }),
  fc.record({ family: fc.constant('header'), op: fc.constant('set'), name: fc.constant('kid'), value: badKid }),
  fc.record({ family: fc.constant('header'), op: fc.constant('remove'), name: fc.constantFrom('alg', 'typ') }),
  fc.oneof(
    fc.record({ family: fc.constant('header'), op: fc.constant('forbidden'), name: fc.constantFrom('jku', 'x5u'), value: fc.constantFrom('https://evil.test/jwks.json', 'http://127.0.0.1/jwks', '') }),
    fc.record({ family: fc.constant('header'), op: fc.constant('forbidden'), name: fc.constant('x5c'), value: fc.constantFrom<Json>(['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'], [], 'MIIB') }),
    fc.record({ family: fc.constant('header'), op: fc.constant('forbidden'), name: fc.constant('jwk'), value: fc.constantFrom<KidRef>({ ref: 'basePublicJwk' }, { ref: 'strangerPublicJwk' }) }),
    fc.record({ family: fc.constant('header'), op: fc.constant('forbidden'), name: fc.constant('crit'), value: fc.constantFrom<Json>(['exp'], ['b64'], [], 'b64', ['kid']) }),
    fc.record({ family: fc.constant('header'), op: fc.constant('forbidden'), name: fc.constant('b64'), value: fc.constantFrom<Json>(false, true, 'false') }),
    fc.record({ family: fc.constant('header'), op: fc.constant('forbidden'), name: fc.constantFrom('jku', 'x5u', 'x5c', 'jwk', 'crit', 'b64'), value: anyJson }),
  ),
  fc.record({
    family: fc.constant('header'),
    op: fc.constant('raw'),
    // Not a BOM before a valid header: jose's TextDecoder drops it, so that header IS valid (an equivalent).
    text: fc.constantFrom('[]', 'null', '"ES256"', '1', '{}', 'not json', '', '{"alg":"ES256"', '\ufeff{"alg":"none","typ":"sandbox+jwt"}', '{"typ":"sandbox+jwt"}', '\ufeff\ufeff{"alg":"ES256","typ":"sandbox+jwt"}'),
  }),
  fc.record({ family: fc.constant('header'), op: fc.constant('duplicateParam'), name: fc.constant('alg'), last: badAlg }),
  fc.record({ family: fc.constant('header'), op: fc.constant('duplicateParam'), name: fc.constant('typ'), last: badTyp }),
  fc.record({ family: fc.constant('header'), op: fc.constant('duplicateParam'), name: fc.constant('kid'), last: badKid.filter((kid) => !isRef(kid)) }),
) as fc.Arbitrary<HeaderMutation>;

/** Subjects outside `sb-*` that are otherwise well-formed: the token verifies, the policy refuses (403). */
const outsideSubject = fc.oneof(
  fc.constantFrom('ci-runner-1', 'SB-1', 'sb', 'sb_1', 'xsb-1', ' sb-1', 'admin', '*'),
  fc.string({ minLength: 1, maxLength: 40 }).filter((sub) => !sub.startsWith('sb-')),
);

export const claimsMutation: fc.Arbitrary<ClaimsMutation> = fc.oneof(
  fc.record({ family: fc.constant('claims'), op: fc.constant('remove'), claim: fc.constantFrom('iss', 'sub', 'aud', 'exp', 'iat', 'jti') }),
  // wrong types
  fc.record({ family: fc.constant('claims'), op: fc.constant('set'), claim: fc.constantFrom('iss', 'sub', 'jti'), value: notAString }),
  fc.record({ family: fc.constant('claims'), op: fc.constant('set'), claim: fc.constant('aud'), value: anyJson.filter((aud) => typeof aud !== 'string' && !(Array.isArray(aud) && aud.length > 0 && aud.every((item) => typeof item === 'string'))) }),
  fc.record({ family: fc.constant('claims'), op: fc.constant('set'), claim: fc.constantFrom('exp', 'iat', 'nbf'), value: notANumber }),
  fc.record({ family: fc.constant('claims'), op: fc.constant('set'), claim: fc.constantFrom('exp', 'iat'), value: fc.constantFrom<ClaimRef>({ ref: 'expString' }, { ref: 'iatString' }, { ref: 'expArray' }) }),
  fc.record({ family: fc.constant('claims'), op: fc.constant('set'), claim: fc.constant('iss'), value: fc.constantFrom<ClaimRef>({ ref: 'issuerArray' }) }),
  // wrong values
  fc.record({
    family: fc.constant('claims'),
    op: fc.constant('set'),
    claim: fc.constant('iss'),
    value: fc.oneof(
      fc.constantFrom<ClaimRef>({ ref: 'otherIssuer' }, { ref: 'adminIssuer' }, { ref: 'issuerSlash' }, { ref: 'issuerUpper' }, { ref: 'issuerHttp' }, { ref: 'issuerNul' }),
      fc.constantFrom('https://evil.test', '', ' '),
      fc.domain().map((domain) => `https://${domain}.invalid`),
    ),
  }),
  fc.record({
    family: fc.constant('claims'),
    op: fc.constant('set'),
    claim: fc.constant('aud'),
    value: fc.oneof(
      fc.constantFrom<ClaimRef>({ ref: 'adminAudience' }, { ref: 'audienceSlash' }, { ref: 'audienceUpper' }, { ref: 'audienceArrayWithout' }),
      fc.constantFrom<Json>('https://evil.test', '', ['https://evil.test'], []),
      fc.domain().map((domain) => `https://${domain}.invalid`),
    ),
  }),
  fc.record({
    family: fc.constant('claims'),
    op: fc.constant('set'),
    claim: fc.constant('sub'),
    value: fc.oneof(fc.constantFrom<ClaimRef>({ ref: 'subjectUpper' }, { ref: 'subjectSpace' }, { ref: 'subjectTooLong' }), fc.constant(''), outsideSubject),
  }),
  fc.record({ family: fc.constant('claims'), op: fc.constant('set'), claim: fc.constant('jti'), value: fc.constantFrom<Json | ClaimRef>('', { ref: 'jtiTooLong' }) }),
  // times: margins of 30 s beyond the leeway, so the second that passes while the request is in flight cannot matter
  fc.record({
    family: fc.constant('claims'),
    op: fc.constant('time'),
    kind: fc.constantFrom('expired', 'lifetime', 'iatFuture', 'nbfFuture', 'iatPast'),
    seconds: fc.oneof(fc.integer({ min: 1, max: 120 }), fc.integer({ min: 1, max: 10_000_000 })),
  }),
  fc.record({
    family: fc.constant('claims'),
    op: fc.constant('raw'),
    text: fc.constantFrom('[]', 'null', '"sb-1"', '1', 'true', '{}', 'not json', '', '{"iss":"https://orchestrator.test"', '\ufeff{}'),
  }),
  fc.record({
    family: fc.constant('claims'),
    op: fc.constant('duplicateClaim'),
    claim: fc.constantFrom('iss', 'aud'),
    last: fc.constantFrom<Json | ClaimRef>('https://evil.test', { ref: 'otherIssuer' }, { ref: 'adminAudience' }, 42),
  }),
  fc.record({ family: fc.constant('claims'), op: fc.constant('duplicateClaim'), claim: fc.constant('exp'), last: fc.constantFrom<Json | ClaimRef>({ ref: 'expString' }, 1, null) }),
) as fc.Arbitrary<ClaimsMutation>;

const unsignedClaimChange: fc.Arbitrary<UnsignedClaimChange> = fc.oneof(
  fc.record({ set: fc.constant('sub' as const), value: fc.string({ maxLength: 12 }).map((rest) => `sb-${rest}`) }),
  fc.record({ set: fc.constant('jti' as const), value: fc.uuid() }),
  fc.record({ set: fc.constant('exp' as const), offset: fc.integer({ min: -200, max: 500 }).filter((offset) => offset !== 0) }),
  fc.record({ set: fc.constant('team' as const), value: fc.constantFrom('research', 'admin') }),
  fc.constant({ set: 'audArray' as const }),
  fc.record({ reserialize: fc.constantFrom('spaces' as const, 'reordered' as const) }),
  fc.record({ apply: claimsMutation }),
);

export const unsignedMutation: fc.Arbitrary<UnsignedMutation> = fc.oneof(
  fc.record({ family: fc.constant('unsigned'), op: fc.constant('claims'), change: unsignedClaimChange }),
  fc.record({
    family: fc.constant('unsigned'),
    op: fc.constant('header'),
    change: fc.oneof(fc.record({ reserialize: fc.constantFrom('spaces' as const, 'reordered' as const) }), fc.constant({ set: 'kidRemoved' as const }), fc.record({ apply: headerMutation })),
  }),
  fc.record({ family: fc.constant('unsigned'), op: fc.constant('spliceSignature'), from: fc.constantFrom('sameKeyOtherJti', 'otherTrustedKey', 'sameKeyOtherHeader') }),
) as fc.Arbitrary<UnsignedMutation>;

export const wrongKeyMutation: fc.Arbitrary<WrongKeyMutation> = fc.oneof(
  fc.record({
    family: fc.constant('wrongKey'),
    op: fc.constant('foreign'),
    key: fc.constantFrom('stranger', 'other', 'admin'),
    kid: fc.constantFrom<KidChoice>('own', 'base', 'otherTrusted', 'none'),
    iss: fc.constantFrom('base', 'keyOwner'),
  }),
  fc.record({ family: fc.constant('wrongKey'), op: fc.constant('crossAlgorithm'), signer: fc.constantFrom<BaseKey>('primary', 'eddsa'), kid: fc.constantFrom('signer', 'headerAlg') }),
  fc.record({ family: fc.constant('wrongKey'), op: fc.constant('embeddedJwk'), kid: fc.constantFrom('stranger', 'primary', 'none') }),
  fc.record({ family: fc.constant('wrongKey'), op: fc.constant('hmacWithPublicKey'), alg: fc.constantFrom('HS256', 'HS384', 'HS512'), secret: fc.constantFrom('jwkJson', 'x', 'crv') }),
) as fc.Arbitrary<WrongKeyMutation>;

export const encodingMutation: fc.Arbitrary<EncodingMutation> = fc.oneof(
  fc.record({ family: fc.constant('encoding'), op: fc.constant('pad'), segment, extra: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ family: fc.constant('encoding'), op: fc.constant('standardAlphabet'), segment }),
  fc.record({ family: fc.constant('encoding'), op: fc.constant('nonCanonical'), segment, flip: fc.integer({ min: 1, max: 15 }) }),
  // Only whitespace an HTTP header value can carry; CR/LF cannot be sent at all (see the test file).
  fc.record({ family: fc.constant('encoding'), op: fc.constant('whitespaceInside'), at: fc.nat(), ws: fc.constantFrom(' ', '\t', '  ', ' \t') }),
  fc.record({ family: fc.constant('encoding'), op: fc.constant('caseFlip'), segment, to: fc.constantFrom('lower', 'upper') }),
  fc.record({ family: fc.constant('encoding'), op: fc.constant('percentEncode'), what: fc.constantFrom('dots', 'first') }),
  fc.record({
    family: fc.constant('encoding'),
    op: fc.constant('scheme'),
    value: fc.constantFrom('', 'JWT', 'Token', 'Basic', 'DPoP', 'Bearer-', 'Bearerx', 'Bear', 'Bearer:', 'Bearer Bearer', 'B\u00e9arer', 'Bearer,'),
  }),
  fc.record({ family: fc.constant('encoding'), op: fc.constant('separator'), value: fc.constantFrom('', '\t', ' \t', ':', ': ', '=', ',', '\u00a0', '+') }),
  fc.record({ family: fc.constant('encoding'), op: fc.constant('suffix'), value: fc.constantFrom(',', ';', ' x', ', Basic eA', ' .', '\t.', ' " ', '"', '\u00a0', ' \u00a0') }),
  fc.record({ family: fc.constant('encoding'), op: fc.constant('quote') }),
) as fc.Arbitrary<EncodingMutation>;

export const sizeMutation: fc.Arbitrary<SizeMutation> = fc.oneof(
  // token > 4 KiB, Authorization still < 8 KiB: the token limit answers
  fc.record({ family: fc.constant('size'), op: fc.constant('bigClaim'), length: fc.integer({ min: 4097, max: 8000 }) }),
  fc.record({ family: fc.constant('size'), op: fc.constant('bigHeader'), length: fc.integer({ min: 4097, max: 8000 }) }),
  // Authorization > 8 KiB
  fc.record({ family: fc.constant('size'), op: fc.constant('bigClaim'), length: fc.integer({ min: 8193, max: 40_000 }) }),
  fc.record({ family: fc.constant('size'), op: fc.constant('appendGarbage'), length: fc.integer({ min: 4097, max: 20_000 }) }),
  fc.record({ family: fc.constant('size'), op: fc.constant('spacesAfterScheme'), length: fc.integer({ min: 8193, max: 20_000 }) }),
) as fc.Arbitrary<SizeMutation>;

export const familyArbitraries: Record<Family, fc.Arbitrary<Mutation>> = {
  structure: structureMutation,
  header: headerMutation,
  claims: claimsMutation,
  unsigned: unsignedMutation,
  wrongKey: wrongKeyMutation,
  encoding: encodingMutation,
  size: sizeMutation,
};

/** Any single mutation, every family equally likely. */
export const anyMutation: fc.Arbitrary<Mutation> = fc.oneof(...FAMILIES.map((family) => familyArbitraries[family]));

/** One or more mutations applied in order. */
export function mutationChain(arbitrary: fc.Arbitrary<Mutation> = anyMutation, maxLength = 3): fc.Arbitrary<Mutation[]> {
  return fc.array(arbitrary, { minLength: 1, maxLength });
}

export const baseKey: fc.Arbitrary<BaseKey> = fc.constantFrom<BaseKey>('primary', 'eddsa');

// ---------------------------------------------------------------------------------------------------------
// Applying recipes
// ---------------------------------------------------------------------------------------------------------

export interface MutatedRequest {
  /** The Authorization header value to send. */
  authorization: string;
  /** The statuses the broker may answer with (401 always; 403 where the token may verify but not grant). */
  statuses: readonly number[];
}

interface State {
  token: string;
  scheme: string;
  separator: string;
  suffix: string;
  quote: boolean;
  statuses: Set<number>;
}

/**
 * Applies `mutations` in order to a fresh valid base token. Returns `undefined` when the result is the
 * base token itself (the caller should skip it: `fc.pre(result !== undefined)`).
 */
export async function applyMutations(base: BaseToken, mutations: readonly Mutation[], world: MutationWorld): Promise<MutatedRequest | undefined> {
  const state: State = { token: base.token, scheme: 'Bearer', separator: ' ', suffix: '', quote: false, statuses: new Set([401]) };
  for (const mutation of mutations) await applyOne(state, mutation, base, world);
  const token = state.quote ? `"${state.token}"` : state.token;
  const authorization = state.scheme === '' ? `${token}${state.suffix}` : `${state.scheme}${state.separator}${token}${state.suffix}`;
  if (authorization === `Bearer ${base.token}`) return undefined;
  return { authorization, statuses: [...state.statuses].sort() };
}

async function applyOne(state: State, mutation: Mutation, base: BaseToken, world: MutationWorld): Promise<void> {
  switch (mutation.family) {
    case 'structure':
      state.token = applyStructure(state.token, mutation);
      return;
    case 'header':
      state.token = await applyHeader(state.token, mutation, base, world);
      return;
    case 'claims':
      state.token = await applyClaims(state, mutation, base, world);
      return;
    case 'unsigned':
      state.token = await applyUnsigned(state, mutation, base, world);
      return;
    case 'wrongKey':
      state.token = await applyWrongKey(state, mutation, base, world);
      return;
    case 'encoding':
      applyEncoding(state, mutation);
      return;
    case 'size':
      await applySize(state, mutation, base, world);
      return;
  }
}

// --- 1. structure ---------------------------------------------------------------------------------------

function applyStructure(token: string, mutation: StructureMutation): string {
  const parts = token.split('.');
  const withSegment = (index: number, edit: (text: string) => string) => {
    const at = Math.min(index, parts.length - 1);
    const copy = [...parts];
    copy[at] = edit(copy[at] ?? '');
    return copy.join('.');
  };
  switch (mutation.op) {
    case 'replace':
      return withSegment(mutation.segment, (text) => {
        if (text.length === 0) return mutation.char;
        const at = mutation.at % text.length;
        return text.slice(0, at) + mutation.char + text.slice(at + 1);
      });
    case 'delete':
      return withSegment(mutation.segment, (text) => {
        const at = text.length === 0 ? 0 : mutation.at % text.length;
        return text.slice(0, at) + text.slice(at + mutation.count);
      });
    case 'insert':
      return withSegment(mutation.segment, (text) => {
        const at = mutation.at % (text.length + 1);
        return text.slice(0, at) + mutation.text + text.slice(at);
      });
    case 'swap': {
      const copy = [...parts];
      const a = Math.min(mutation.a, copy.length - 1);
      const b = Math.min(mutation.b, copy.length - 1);
      [copy[a], copy[b]] = [copy[b]!, copy[a]!];
      return copy.join('.');
    }
    case 'drop':
      return parts.filter((_, index) => index !== Math.min(mutation.segment, parts.length - 1)).join('.');
    case 'duplicate': {
      const copy = [...parts];
      copy.splice(Math.min(mutation.at, copy.length), 0, parts[Math.min(mutation.segment, parts.length - 1)]!);
      return copy.join('.');
    }
    case 'dots': {
      const dots = '.'.repeat(mutation.count);
      if (mutation.where === 'start') return dots + token;
      if (mutation.where === 'end') return token + dots;
      const copy = [...parts];
      const at = Math.min(mutation.where === 'after0' ? 0 : 1, copy.length - 1);
      copy[at] = copy[at] + dots;
      return copy.join('.');
    }
    case 'truncate':
      return token.slice(0, mutation.keep % token.length);
    case 'empty':
      return withSegment(mutation.segment, () => '');
  }
}

// --- 2. header ------------------------------------------------------------------------------------------

async function applyHeader(token: string, mutation: HeaderMutation, base: BaseToken, world: MutationWorld): Promise<string> {
  const { header, payloadText } = decodeCurrent(token, base);
  const key = world.keys[base.key];
  switch (mutation.op) {
    case 'set':
      return signCompact(JSON.stringify({ ...header, [mutation.name]: await resolveKid(mutation.value, base, world) }), payloadText, key);
    case 'remove': {
      const copy = { ...header };
      delete copy[mutation.name];
      return signCompact(JSON.stringify(copy), payloadText, key);
    }
    case 'forbidden':
      return signCompact(JSON.stringify({ ...header, [mutation.name]: await resolveKid(mutation.value, base, world) }), payloadText, key);
    case 'raw':
      return signCompact(mutation.text, payloadText, key);
    case 'duplicateParam': {
      const text = JSON.stringify(header);
      return signCompact(`${text.slice(0, -1)},${JSON.stringify(mutation.name)}:${JSON.stringify(mutation.last)}}`, payloadText, key);
    }
  }
}

async function resolveKid(value: Json | KidRef, base: BaseToken, world: MutationWorld): Promise<Json> {
  if (!isRef(value)) return value;
  const baseKid = world.keys[base.key].kid!;
  switch (value.ref) {
    case 'strangerKid':
      return world.keys.stranger.kid!;
    case 'otherKid':
      return world.keys.other.kid!;
    case 'adminKid':
      return world.keys.admin.kid!;
    case 'otherTrustedKid':
      return world.keys[base.key === 'primary' ? 'eddsa' : 'primary'].kid!;
    case 'baseKidArray':
      return [baseKid];
    case 'baseKidPadded':
      return ` ${baseKid}`;
    case 'baseKidUpper':
      return baseKid.toUpperCase() === baseKid ? `${baseKid.toLowerCase()}X` : baseKid.toUpperCase();
    case 'strangerPublicJwk':
      return publicJwk(world.keys.stranger) as Json;
    case 'basePublicJwk':
      return publicJwk(world.keys[base.key]) as Json;
  }
}

// --- 3. claims ------------------------------------------------------------------------------------------

async function applyClaims(state: State, mutation: ClaimsMutation, base: BaseToken, world: MutationWorld): Promise<string> {
  const { headerText, payload } = decodeCurrent(state.token, base);
  return signCompact(headerText, claimsText(state, payload, mutation, base, world), world.keys[base.key]);
}

function claimsText(state: State, payload: Record<string, Json>, mutation: ClaimsMutation, base: BaseToken, world: MutationWorld): string {
  const iat0 = baseClaims(base).iat as number;
  const claims = { ...payload };
  const beyond = world.leewaySeconds + 30; // margin: a second may pass in flight
  switch (mutation.op) {
    case 'remove':
      delete claims[mutation.claim];
      return JSON.stringify(claims);
    case 'set': {
      const value = resolveClaim(mutation.value, claims, base, world);
      if (mutation.claim === 'sub' && typeof value === 'string' && value !== '' && value.length <= 256 && !value.startsWith(world.subjectPrefix)) {
        // A well-formed subject outside the rule: the token verifies and the policy refuses it.
        state.statuses.add(403);
      }
      claims[mutation.claim] = value;
      return JSON.stringify(claims);
    }
    case 'time': {
      const s = mutation.seconds;
      if (mutation.kind === 'expired') Object.assign(claims, { exp: iat0 - beyond - s, iat: iat0 - beyond - s - 300 });
      if (mutation.kind === 'lifetime') Object.assign(claims, { iat: iat0, exp: iat0 + world.maxLifetimeSeconds + s });
      if (mutation.kind === 'iatFuture') Object.assign(claims, { iat: iat0 + beyond + s, exp: iat0 + beyond + s + 300 });
      if (mutation.kind === 'nbfFuture') Object.assign(claims, { nbf: iat0 + beyond + s });
      if (mutation.kind === 'iatPast') Object.assign(claims, { iat: iat0 - world.maxLifetimeSeconds - beyond - s, exp: iat0 + 300 });
      return JSON.stringify(claims);
    }
    case 'raw':
      return mutation.text;
    case 'duplicateClaim': {
      const text = JSON.stringify(claims);
      return `${text.slice(0, -1)},${JSON.stringify(mutation.claim)}:${JSON.stringify(resolveClaim(mutation.last, claims, base, world))}}`;
    }
  }
}

function resolveClaim(value: Json | ClaimRef, claims: Record<string, Json>, base: BaseToken, world: MutationWorld): Json {
  if (!isRef(value)) return value;
  const original = baseClaims(base);
  switch (value.ref) {
    case 'otherIssuer':
      return world.otherIssuer;
    case 'adminIssuer':
      return world.adminIssuer;
    case 'adminAudience':
      return world.adminAudience;
    case 'issuerSlash':
      return `${world.issuer}/`;
    case 'issuerUpper':
      return world.issuer.toUpperCase();
    case 'issuerHttp':
      return world.issuer.replace(/^https:/, 'http:');
    case 'issuerNul':
      return `${world.issuer}\u0000`;
    case 'issuerArray':
      return [world.issuer];
    case 'audienceSlash':
      return `${world.audience}/`;
    case 'audienceUpper':
      return world.audience.toUpperCase();
    case 'audienceArrayWithout':
      return [world.adminAudience, `${world.audience}/`, 'https://evil.test'];
    case 'expString':
      return String(claims.exp ?? original.exp);
    case 'iatString':
      return String(claims.iat ?? original.iat);
    case 'expArray':
      return [(claims.exp ?? original.exp) as Json];
    case 'subjectUpper':
      return String(original.sub).toUpperCase();
    case 'subjectSpace':
      return ` ${String(original.sub)}`;
    case 'subjectTooLong':
      return `${world.subjectPrefix}${'x'.repeat(300)}`;
    case 'jtiTooLong':
      return 'j'.repeat(257);
  }
}

// --- 4. unsigned ----------------------------------------------------------------------------------------

async function applyUnsigned(state: State, mutation: UnsignedMutation, base: BaseToken, world: MutationWorld): Promise<string> {
  const parts = state.token.split('.');
  const [headerSegment = '', payloadSegment = '', signature = ''] = parts;
  const { header, headerText, payload } = decodeCurrent(state.token, base);
  switch (mutation.op) {
    case 'claims': {
      const change = mutation.change;
      let text: string;
      if ('apply' in change) text = claimsText({ ...state, statuses: new Set() }, payload, change.apply, base, world);
      else if ('reserialize' in change) text = change.reserialize === 'spaces' ? JSON.stringify(payload, null, 1) : JSON.stringify(Object.fromEntries(Object.entries(payload).reverse()));
      else if (change.set === 'exp') text = JSON.stringify({ ...payload, exp: Number(payload.exp ?? 0) + change.offset });
      else if (change.set === 'audArray') text = JSON.stringify({ ...payload, aud: [payload.aud ?? world.audience, 'https://other.test'] });
      else text = JSON.stringify({ ...payload, [change.set]: change.value });
      return `${headerSegment}.${encode(text)}.${signature}`;
    }
    case 'header': {
      const change = mutation.change;
      let text: string;
      if ('apply' in change) {
        // The same header change as family 2, but the signature is the old one.
        const resigned = await applyHeader(state.token, change.apply, base, world);
        text = decodeText(resigned.split('.')[0]!) ?? headerText;
      } else if ('reserialize' in change) {
        text = change.reserialize === 'spaces' ? JSON.stringify(header, null, 1) : JSON.stringify(Object.fromEntries(Object.entries(header).reverse()));
      } else {
        const copy = { ...header };
        delete copy.kid;
        text = JSON.stringify(copy);
      }
      return `${encode(text)}.${payloadSegment}.${signature}`;
    }
    case 'spliceSignature': {
      // A genuine signature by a trusted key, but over other bytes than the ones it is spliced onto (a donor
      // over the same bytes would simply be a valid token, e.g. when an earlier step set that key's kid).
      const otherJti = JSON.stringify({ ...payload, jti: crypto.randomUUID() });
      let donor: string;
      if (mutation.from === 'sameKeyOtherJti') donor = await signCompact(headerText, otherJti, world.keys[base.key]);
      else if (mutation.from === 'otherTrustedKey') donor = await signCompact(headerText, otherJti, world.keys[base.key === 'primary' ? 'eddsa' : 'primary']);
      else donor = await signCompact(JSON.stringify({ ...header, 'x-splice': crypto.randomUUID() }), JSON.stringify(payload), world.keys[base.key]);
      const [donorHeader, donorPayload, donorSignature] = donor.split('.');
      if (donorHeader === headerSegment && donorPayload === payloadSegment) throw new Error('splice donor signed the same bytes');
      return `${headerSegment}.${payloadSegment}.${donorSignature}`;
    }
  }
}

// --- 5. wrong key ---------------------------------------------------------------------------------------

async function applyWrongKey(state: State, mutation: WrongKeyMutation, base: BaseToken, world: MutationWorld): Promise<string> {
  const { header, payload } = decodeCurrent(state.token, base);
  const baseKid = world.keys[base.key].kid!;
  const otherTrustedKid = world.keys[base.key === 'primary' ? 'eddsa' : 'primary'].kid!;
  switch (mutation.op) {
    case 'foreign': {
      const key = world.keys[mutation.key];
      const kid = { own: key.kid, base: baseKid, otherTrusted: otherTrustedKid, none: undefined }[mutation.kid];
      const claims = { ...payload };
      let typ: Json = header.typ ?? world.typ;
      if (mutation.iss === 'keyOwner' && mutation.key === 'other') claims.iss = world.otherIssuer;
      if (mutation.iss === 'keyOwner' && mutation.key === 'admin') {
        // A well-formed admin token presented on the sandbox route: its issuer is not a sandbox issuer.
        Object.assign(claims, { iss: world.adminIssuer, aud: world.adminAudience });
        typ = 'admin+jwt';
      }
      if (mutation.key === 'other' && claims.iss === world.otherIssuer && (mutation.kid === 'own' || mutation.kid === 'none')) {
        // A valid token of the other issuer (its iss set by this mutation or an earlier one in the chain): it
        // verifies, and the target credential does not trust that issuer.
        state.statuses.add(403);
      }
      return signCompact(JSON.stringify({ alg: key.alg, typ, ...(kid === undefined ? {} : { kid }) }), JSON.stringify(claims), key);
    }
    case 'crossAlgorithm': {
      // The header names one algorithm, the signature is made with the other trusted key's algorithm.
      const signer = world.keys[mutation.signer];
      const headerKey = world.keys[mutation.signer === 'primary' ? 'eddsa' : 'primary'];
      const kid = mutation.kid === 'signer' ? signer.kid : headerKey.kid;
      return signCompact(JSON.stringify({ alg: headerKey.alg, typ: header.typ ?? world.typ, kid }), JSON.stringify(payload), signer);
    }
    case 'embeddedJwk': {
      // The classic: the header carries the attacker's public key, the token is signed with the attacker's key.
      const stranger = world.keys.stranger;
      const kid = { stranger: stranger.kid, primary: world.keys.primary.kid, none: undefined }[mutation.kid];
      return signCompact(JSON.stringify({ alg: stranger.alg, typ: world.typ, ...(kid ? { kid } : {}), jwk: publicJwk(stranger) }), JSON.stringify(payload), stranger);
    }
    case 'hmacWithPublicKey': {
      const pub = publicJwk(world.keys[base.key]);
      const secret = mutation.secret === 'jwkJson' ? JSON.stringify(pub) : mutation.secret === 'crv' ? String(pub.x) : 'x';
      const headerText = JSON.stringify({ alg: mutation.alg, typ: world.typ, kid: baseKid });
      const input = `${encode(headerText)}.${encode(JSON.stringify(payload))}`;
      const hash = `SHA-${mutation.alg.slice(2)}`;
      const key = await crypto.subtle.importKey('raw', bytes(secret), { name: 'HMAC', hash }, false, ['sign']);
      return `${input}.${base64url.encode(new Uint8Array(await crypto.subtle.sign('HMAC', key, bytes(input))))}`;
    }
  }
}

// --- 6. encoding ----------------------------------------------------------------------------------------

function applyEncoding(state: State, mutation: EncodingMutation): void {
  const parts = state.token.split('.');
  const pick = (index: number, usable: (text: string) => boolean) => {
    for (let step = 0; step < parts.length; step++) {
      const at = (index + step) % parts.length;
      if (usable(parts[at]!)) return at;
    }
    return -1;
  };
  const edit = (at: number, text: string) => {
    if (at < 0) return;
    parts[at] = text;
    state.token = parts.join('.');
  };
  switch (mutation.op) {
    case 'pad': {
      // The padding a lenient decoder accepts (plus `extra` more): never part of a JWS (RFC 7515 §2).
      const at = Math.min(mutation.segment, parts.length - 1);
      const text = parts[at]!;
      const needed = (4 - (text.length % 4)) % 4;
      edit(at, text + '='.repeat(Math.max(1, needed + mutation.extra)));
      return;
    }
    case 'standardAlphabet': {
      const at = pick(mutation.segment, (text) => /[-_]/.test(text));
      edit(at, parts[at]?.replace(/-/g, '+').replace(/_/g, '/') ?? '');
      return;
    }
    case 'nonCanonical': {
      // Same bytes to a lenient decoder: flip the unused low bits of the last character.
      const at = pick(mutation.segment, (text) => text.length % 4 === 2 || text.length % 4 === 3);
      if (at < 0) return;
      const text = parts[at]!;
      const last = B64URL.indexOf(text[text.length - 1]!);
      if (last < 0) return;
      const mask = text.length % 4 === 2 ? 0b1111 : 0b11;
      const flip = mutation.flip & mask || 1;
      edit(at, text.slice(0, -1) + B64URL[last ^ flip]);
      return;
    }
    case 'whitespaceInside': {
      const token = state.token;
      if (token.length < 2) return;
      const at = 1 + (mutation.at % (token.length - 1));
      state.token = token.slice(0, at) + mutation.ws + token.slice(at);
      return;
    }
    case 'caseFlip': {
      const at = pick(mutation.segment, (text) => (mutation.to === 'lower' ? text.toLowerCase() !== text : text.toUpperCase() !== text));
      edit(at, mutation.to === 'lower' ? (parts[at] ?? '').toLowerCase() : (parts[at] ?? '').toUpperCase());
      return;
    }
    case 'percentEncode':
      state.token = mutation.what === 'dots' ? state.token.replace(/\./g, '%2E') : `%${state.token.charCodeAt(0).toString(16).toUpperCase()}${state.token.slice(1)}`;
      return;
    case 'scheme':
      state.scheme = mutation.value;
      return;
    case 'separator':
      state.separator = mutation.value;
      return;
    case 'suffix':
      state.suffix = mutation.value;
      return;
    case 'quote':
      state.quote = true;
      return;
  }
}

// --- 7. size --------------------------------------------------------------------------------------------

async function applySize(state: State, mutation: SizeMutation, base: BaseToken, world: MutationWorld): Promise<void> {
  const { header, headerText, payload, payloadText } = decodeCurrent(state.token, base);
  const key = world.keys[base.key];
  switch (mutation.op) {
    case 'bigClaim':
      state.token = await padUntil(mutation.length, (filler) => signCompact(headerText, JSON.stringify({ ...payload, pad: filler }), key));
      return;
    case 'bigHeader':
      state.token = await padUntil(mutation.length, (filler) => signCompact(JSON.stringify({ ...header, 'x-pad': filler }), payloadText, key));
      return;
    case 'appendGarbage': {
      const missing = Math.max(1, mutation.length - state.token.length);
      state.token += 'A'.repeat(missing);
      return;
    }
    case 'spacesAfterScheme':
      // `Bearer` followed by many spaces is still the right syntax; only the size is wrong.
      state.separator = ' '.repeat(Math.max(1, mutation.length - state.token.length - state.scheme.length));
      return;
  }
}

/** Signs with a growing filler until the token is at least `length` characters long. */
async function padUntil(length: number, sign: (filler: string) => Promise<string>): Promise<string> {
  let size = 0;
  let token = await sign('');
  while (token.length < length) {
    size += Math.max(1, Math.ceil(((length - token.length) * 3) / 4));
    token = await sign('a'.repeat(size));
  }
  return token;
}

// ---------------------------------------------------------------------------------------------------------
// JWS plumbing (raw, so that headers jose would refuse to produce can be signed)
// ---------------------------------------------------------------------------------------------------------

const keyCache = new WeakMap<JWK, Promise<CryptoKey>>();

function signingKey(jwk: JWK): Promise<CryptoKey> {
  let key = keyCache.get(jwk);
  if (!key) {
    key = importJWK(jwk, jwk.alg) as Promise<CryptoKey>;
    keyCache.set(jwk, key);
  }
  return key;
}

/** Signs `header.payload` (raw JSON texts) with the key's own algorithm, whatever the header says. */
export async function signCompact(headerText: string, payloadText: string, jwk: JWK): Promise<string> {
  const input = `${encode(headerText)}.${encode(payloadText)}`;
  const key = await signingKey(jwk);
  const algorithm = jwk.kty === 'EC' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: key.algorithm.name };
  const signature = new Uint8Array(await crypto.subtle.sign(algorithm, key, bytes(input)));
  return `${input}.${base64url.encode(signature)}`;
}

export function publicJwk(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...rest } = jwk;
  return rest;
}

const bytes = (text: string) => new TextEncoder().encode(text);
const encode = (text: string) => base64url.encode(text);

/** Lenient base64url/base64 → UTF-8 text, or undefined. */
function decodeText(segment: string): string | undefined {
  try {
    const normalized = segment.replace(/-/g, '+').replace(/_/g, '/').replace(/[=\s]/g, '');
    const binary = atob(normalized + '='.repeat((4 - (normalized.length % 4)) % 4));
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(binary, (char) => char.charCodeAt(0)));
  } catch {
    return undefined;
  }
}

function decodeObject(segment: string | undefined): Record<string, Json> | undefined {
  if (segment === undefined) return undefined;
  const text = decodeText(segment);
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, Json>) : undefined;
  } catch {
    return undefined;
  }
}

const baseClaimsCache = new Map<string, Record<string, Json>>();
function baseClaims(base: BaseToken): Record<string, Json> {
  let claims = baseClaimsCache.get(base.token);
  if (!claims) {
    claims = decodeObject(base.token.split('.')[1])!;
    if (baseClaimsCache.size > 64) baseClaimsCache.clear();
    baseClaimsCache.set(base.token, claims);
  }
  return claims;
}

/** The current header and claims; the base token's where the current token no longer decodes. */
function decodeCurrent(token: string, base: BaseToken) {
  const [headerSegment, payloadSegment] = token.split('.');
  const [baseHeader, basePayload] = base.token.split('.');
  const header = decodeObject(headerSegment) ?? decodeObject(baseHeader)!;
  const payload = decodeObject(payloadSegment) ?? decodeObject(basePayload)!;
  return { header, payload, headerText: JSON.stringify(header), payloadText: JSON.stringify(payload) };
}

function isRef<T extends { ref: string }>(value: Json | T): value is T {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && typeof (value as { ref?: unknown }).ref === 'string' && Object.keys(value).length === 1;
}

/** jose's `typ` comparison (media type, case-insensitive, `application/` optional). */
function normalizeTyp(value: string): string {
  const lower = value.toLowerCase();
  return value.includes('/') ? lower : `application/${lower}`;
}

// ---------------------------------------------------------------------------------------------------------
// For drills: many mutated requests, reproducibly
// ---------------------------------------------------------------------------------------------------------

export interface GeneratedRequest extends MutatedRequest {
  mutations: Mutation[];
  base: BaseToken;
}

/**
 * `count` mutated Authorization headers, each from a freshly minted base token. The recipes are
 * reproducible from `seed`; the tokens are not (fresh `jti`, `iat` and ECDSA nonces).
 */
export async function* generateMutatedRequests(options: {
  world: MutationWorld;
  count: number;
  seed: number;
  families?: readonly Family[];
  maxChain?: number;
  mint?: (key: BaseKey) => Promise<BaseToken>;
}): AsyncGenerator<GeneratedRequest> {
  const families = options.families ?? FAMILIES;
  const arbitrary = fc.tuple(baseKey, mutationChain(fc.oneof(...families.map((family) => familyArbitraries[family])), options.maxChain ?? 3));
  const mint = options.mint ?? ((key: BaseKey) => mintBase(options.world, key));
  let produced = 0;
  let batch = 0;
  while (produced < options.count) {
    const samples = fc.sample(arbitrary, { numRuns: Math.min(1000, options.count - produced) * 2, seed: options.seed + batch++ });
    for (const [key, mutations] of samples) {
      if (produced >= options.count) return;
      const base = await mint(key);
      const request = await applyMutations(base, mutations, options.world);
      if (!request) continue;
      produced++;
      yield { ...request, mutations, base };
    }
  }
}
