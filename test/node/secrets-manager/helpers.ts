/**
 * Shared fixtures for the local Secrets Manager tests: servers and SDK clients that are closed after each
 * test, a controllable clock, and a raw SigV4-signed fetch for the cases the SDK cannot produce
 * (wrong service, tampered body or headers).
 */
import { createHash, createHmac } from 'node:crypto';
import { SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SourceData } from '@smithy/types';
import { afterEach } from 'vitest';
import {
  startSecretsManagerServer,
  type Principal,
  type RunningSecretsManagerServer,
  type SecretsManagerServerOptions,
} from '../../../dev/secrets-manager/server.ts';

export const REGION = 'us-east-1';

export const ADMIN: Principal = {
  accessKeyId: 'AKIAADMIN0000000TEST',
  secretAccessKey: 'admin-secret-access-key',
  allow: { actions: ['*'], secrets: ['*'] },
};

export const READER: Principal = {
  accessKeyId: 'AKIAREADER000000TEST',
  secretAccessKey: 'reader-secret-access-key',
  allow: { actions: ['GetSecretValue', 'secretsmanager:DescribeSecret'], secrets: ['app/*'] },
};

/** A clock the test moves by hand; starts at the real time so the SDK's signatures are within skew. */
export function manualClock(start = Date.now()): { now: () => Date; advance(ms: number): void; ms(): number } {
  let t = start;
  return { now: () => new Date(t), advance: (ms) => void (t += ms), ms: () => t };
}

const servers: RunningSecretsManagerServer[] = [];
const clients: SecretsManagerClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

export async function startServer(options: Partial<SecretsManagerServerOptions> = {}): Promise<RunningSecretsManagerServer> {
  const server = await startSecretsManagerServer({ principals: [ADMIN, READER], ...options });
  servers.push(server);
  return server;
}

export function clientFor(
  server: { url: string },
  principal: Pick<Principal, 'accessKeyId' | 'secretAccessKey'> & { sessionToken?: string } = ADMIN,
  config: Partial<SecretsManagerClientConfig> = {},
): SecretsManagerClient {
  const client = new SecretsManagerClient({
    region: REGION,
    endpoint: server.url,
    credentials: {
      accessKeyId: principal.accessKeyId,
      secretAccessKey: principal.secretAccessKey,
      ...(principal.sessionToken !== undefined ? { sessionToken: principal.sessionToken } : {}),
    },
    // Most tests want exactly one request per call; retry tests opt back in.
    maxAttempts: 1,
    ...config,
  });
  clients.push(client);
  return client;
}

/** Awaits a promise that must reject and returns the error, failing the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error & Record<string, any>> {
  try {
    await promise;
  } catch (err) {
    return err as Error & Record<string, any>;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** Independent of the server's own hash class, so a bug there cannot cancel out. */
class TestSha256 {
  private readonly h;
  constructor(secret?: SourceData) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: SourceData): void {
    this.h.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {
    throw new Error('not needed');
  }
}

function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

export interface RawCall {
  operation: string;
  /** JSON-encoded unless it is already a string (then sent as is, e.g. malformed JSON). */
  body: unknown;
  principal?: Pick<Principal, 'accessKeyId' | 'secretAccessKey'> & { sessionToken?: string };
  region?: string;
  service?: string;
  signingDate?: Date;
  /** Sign the payload hash into x-amz-content-sha256 (the SDK does). Default true. */
  contentSha?: boolean;
  /** Change the request after signing. */
  tamper?: (req: { headers: Record<string, string>; body: string }) => void;
}

export async function signedFetch(server: { url: string; port: number }, call: RawCall): Promise<Response> {
  const principal = call.principal ?? ADMIN;
  const body = typeof call.body === 'string' ? call.body : JSON.stringify(call.body);
  const headers: Record<string, string> = {
    host: `127.0.0.1:${server.port}`,
    'content-type': 'application/x-amz-json-1.1',
    'x-amz-target': `secretsmanager.${call.operation}`,
  };
  if (call.contentSha !== false) headers['x-amz-content-sha256'] = createHash('sha256').update(body).digest('hex');
  const signer = new SignatureV4({
    credentials: principal,
    region: call.region ?? REGION,
    service: call.service ?? 'secretsmanager',
    sha256: TestSha256,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    { method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port: server.port, path: '/', query: {}, headers, body },
    { signingDate: call.signingDate ?? new Date() },
  );
  const out = { headers: { ...(signed.headers as Record<string, string>) }, body };
  call.tamper?.(out);
  delete out.headers['host']; // fetch sets the same value itself
  return fetch(`${server.url}/`, { method: 'POST', headers: out.headers, body: out.body });
}

export async function errorBody(res: Response): Promise<{ __type: string; message: string }> {
  return (await res.json()) as { __type: string; message: string };
}

export async function waitFor(predicate: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const hex32 = (n: number): string => n.toString(16).padStart(32, '0');
