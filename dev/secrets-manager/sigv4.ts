/**
 * SigV4 verification for incoming requests. The expected signature is computed by the same signer the SDK
 * uses (`@smithy/signature-v4`), fed with exactly the headers the client says it signed and the client's own
 * X-Amz-Date, then compared in constant time. Checks and messages follow what AWS answers for each failure.
 *
 * Not supported (the SDK never sends them to Secrets Manager): presigned query-string auth, a `Date`
 * header instead of X-Amz-Date, SigV4a.
 */
import { createHash, createHmac, timingSafeEqual, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Checksum, HttpRequest, QueryParameterBag, SourceData } from '@smithy/types';
import {
  incompleteSignature,
  invalidSignature,
  missingAuthenticationToken,
  unrecognizedClient,
} from './errors.ts';

const ALGORITHM = 'AWS4-HMAC-SHA256';
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** SHA-256 / HMAC-SHA-256 for the smithy signer, on node:crypto. */
export class NodeSha256 implements Checksum {
  private readonly key: Buffer | undefined;
  private hash: Hash | Hmac;

  constructor(secret?: SourceData) {
    this.key = secret === undefined ? undefined : Buffer.from(toBuffer(secret));
    this.hash = this.fresh();
  }

  update(chunk: SourceData): void {
    this.hash.update(toBuffer(chunk));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.fresh();
  }

  private fresh(): Hash | Hmac {
    return this.key === undefined ? createHash('sha256') : createHmac('sha256', this.key);
  }
}

function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

export interface IncomingSignedRequest {
  method: string;
  /** Path exactly as received (still percent-encoded), without the query string. */
  path: string;
  query: QueryParameterBag;
  /** Node's `req.rawHeaders`: keeps repeated headers apart so they can be joined as SigV4 requires. */
  rawHeaders: string[];
  body: Buffer;
}

export interface VerifyContext {
  region: string;
  service: string;
  now: Date;
  maxClockSkewMs: number;
  secretKeyOf(accessKeyId: string): string | undefined;
}

/** Resolves with the caller's access key id, or rejects with the ServiceError AWS would answer. */
export async function verifySigV4(request: IncomingSignedRequest, ctx: VerifyContext): Promise<{ accessKeyId: string }> {
  const headers = collectHeaders(request.rawHeaders);
  const authorization = headers.get('authorization');
  if (authorization === undefined) throw missingAuthenticationToken();

  const space = authorization.indexOf(' ');
  const algorithm = space < 0 ? authorization : authorization.slice(0, space);
  if (algorithm !== ALGORITHM) throw incompleteSignature(`Unsupported AWS 'algorithm': '${algorithm}'`);
  const params = parseAuthParams(space < 0 ? '' : authorization.slice(space + 1));
  const missing = ['Credential', 'Signature', 'SignedHeaders'].filter((name) => !params.get(name));
  if (missing.length > 0) {
    throw incompleteSignature(missing.map((name) => `Authorization header requires '${name}' parameter.`).join(' '));
  }
  const credential = params.get('Credential')!;
  const providedSignature = params.get('Signature')!;
  const signedHeaderList = params.get('SignedHeaders')!;

  const scope = credential.split('/');
  if (scope.length !== 5) {
    throw incompleteSignature(
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${credential}'`,
    );
  }
  const [accessKeyId, scopeDate, scopeRegion, scopeService, terminator] = scope as [string, string, string, string, string];

  const secretAccessKey = ctx.secretKeyOf(accessKeyId);
  if (secretAccessKey === undefined) throw unrecognizedClient();

  if (scopeRegion !== ctx.region) throw invalidSignature(`Credential should be scoped to a valid region, not '${scopeRegion}'.`);
  if (scopeService !== ctx.service) {
    throw invalidSignature(`Credential should be scoped to correct service: '${ctx.service}'.`);
  }
  if (terminator !== 'aws4_request') {
    throw invalidSignature(`Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'.`);
  }

  const signedHeaders = signedHeaderList.split(';');
  if (!signedHeaders.includes('host')) {
    throw invalidSignature("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }

  const amzDate = headers.get('x-amz-date');
  if (amzDate === undefined) {
    throw incompleteSignature("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  const signingDate = parseAmzDate(amzDate);
  if (!signingDate) {
    throw incompleteSignature(`Date must be in ISO-8601 'basic format'. Got '${amzDate}'. See http://en.wikipedia.org/wiki/ISO_8601`);
  }
  if (scopeDate !== amzDate.slice(0, 8)) {
    throw invalidSignature(
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: ` +
        `'${scopeDate}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
    );
  }
  checkSkew(amzDate, signingDate, ctx.now, ctx.maxClockSkewMs);

  // The signer trusts x-amz-content-sha256 as the payload hash, so it must be checked against the body here.
  const contentSha = headers.get('x-amz-content-sha256');
  if (contentSha !== undefined && signedHeaders.includes('x-amz-content-sha256')) {
    const actual = createHash('sha256').update(request.body).digest('hex');
    if (contentSha !== actual) {
      throw invalidSignature("The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
  }

  const toSign: HttpRequest = {
    method: request.method,
    protocol: 'http:',
    hostname: headers.get('host') ?? '',
    path: request.path,
    query: request.query,
    headers: {},
    body: request.body,
  };
  for (const name of signedHeaders) {
    const value = headers.get(name);
    if (value !== undefined) toSign.headers[name] = value;
  }
  const sessionToken = signedHeaders.includes('x-amz-security-token') ? headers.get('x-amz-security-token') : undefined;
  const signer = new SignatureV4({
    credentials: { accessKeyId, secretAccessKey, ...(sessionToken !== undefined ? { sessionToken } : {}) },
    region: ctx.region,
    service: ctx.service,
    sha256: NodeSha256,
    // Never add headers of our own: only what the client signed takes part.
    applyChecksum: false,
    uriEscapePath: true,
  });
  const signed = await signer.sign(toSign, {
    signingDate,
    // Headers the signer would normally skip (user-agent, ...) still count if the client signed them.
    signableHeaders: new Set(signedHeaders),
  });
  const expected = parseAuthParams(String(signed.headers['authorization']).slice(ALGORITHM.length + 1));
  const expectedSignature = expected.get('Signature') ?? '';
  const sameHeaders = expected.get('SignedHeaders') === signedHeaderList;
  const sameSignature =
    providedSignature.length === expectedSignature.length &&
    timingSafeEqual(Buffer.from(providedSignature, 'utf8'), Buffer.from(expectedSignature, 'utf8'));
  if (!sameHeaders || !sameSignature) throw invalidSignature();
  return { accessKeyId };
}

/** Lower-cased names; repeated headers joined with "," as the canonical request does. */
function collectHeaders(rawHeaders: string[]): Map<string, string> {
  const headers = new Map<string, string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!;
    const previous = headers.get(name);
    headers.set(name, previous === undefined ? value : `${previous},${value}`);
  }
  return headers;
}

function parseAuthParams(text: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    params.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return params;
}

function parseAmzDate(value: string): Date | undefined {
  const m = AMZ_DATE.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function formatAmzDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function checkSkew(amzDate: string, signingDate: Date, now: Date, maxSkewMs: number): void {
  // AWS's wording is "(... - 5 min.)"; non-minute windows (tests) are shown in seconds.
  const minutes = maxSkewMs % 60000 === 0 ? `${maxSkewMs / 60000} min.` : `${maxSkewMs / 1000} s.`;
  if (signingDate.getTime() < now.getTime() - maxSkewMs) {
    throw invalidSignature(
      `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(new Date(now.getTime() - maxSkewMs))} ` +
        `(${formatAmzDate(now)} - ${minutes})`,
    );
  }
  if (signingDate.getTime() > now.getTime() + maxSkewMs) {
    throw invalidSignature(
      `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(new Date(now.getTime() + maxSkewMs))} ` +
        `(${formatAmzDate(now)} + ${minutes})`,
    );
  }
}
