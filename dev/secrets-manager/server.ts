/**
 * Local AWS Secrets Manager: AWS JSON 1.1 over plain node:http, for `npm run dev`, tests (the worker in
 * workerd calls it on 127.0.0.1) and fault/load drills.
 *
 * Each request goes through, in this order:
 *   1. count   — calls() sees every request whose headers and body arrived;
 *   2. faults  — hang → drop → latency → throttle → 5xx (see faults.ts);
 *   3. auth    — SigV4 (sigv4.ts), then the principal's allow list inside the operation (access.ts);
 *   4. operation (operations.ts) on the in-memory store (store.ts).
 * `/__control/*` (control.ts) bypasses all of that.
 *
 * Nothing here logs or echoes secret values: logs carry operation, secret name, status and outcome only.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AccessPolicy } from './access.ts';
import { CallLog } from './calls.ts';
import { handleControl } from './control.ts';
import {
  ServiceError,
  internalServiceError,
  serialization,
  throttling,
  unknownOperation,
} from './errors.ts';
import { FaultInjector } from './faults.ts';
import { runOperation, secretNameOf } from './operations.ts';
import { verifySigV4 } from './sigv4.ts';
import { SecretStore, type SecretValue } from './store.ts';
import type { RunningSecretsManagerServer, SecretsManagerServerOptions, SeedSecret } from './types.ts';

export type {
  CallFilter,
  CallOutcome,
  Faults,
  Principal,
  RunningSecretsManagerServer,
  SecretsManagerServerOptions,
  SeedSecret,
} from './types.ts';
export { ServiceError } from './errors.ts';

const SERVICE = 'secretsmanager';
const TARGET_PREFIX = 'secretsmanager.';
/** Far above AWS's 64 KiB value limit (base64 and JSON overhead included); guards memory only. */
const MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

export async function startSecretsManagerServer(
  options: SecretsManagerServerOptions,
): Promise<RunningSecretsManagerServer> {
  const host = options.host ?? '127.0.0.1';
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const now = options.now ?? (() => new Date());
  const maxClockSkewMs = options.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
  const controlEnabled = options.controlEndpoints ?? isLoopback(host);
  const log = options.log;

  const store = new SecretStore({ region, accountId, now });
  const access = new AccessPolicy(options.principals, accountId);
  const faults = new FaultInjector(options.random ?? Math.random);
  const calls = new CallLog();

  const createSecret = (seed: SeedSecret): { arn: string; versionId: string } => {
    const value = seedValue(seed);
    const { secret, version } = store.create({
      name: seed.name,
      description: seed.description,
      kmsKeyId: seed.kmsKeyId,
      value,
      versionId: value ? (seed.versionId ?? randomUUID()) : undefined,
    });
    return { arn: secret.arn, versionId: version?.versionId ?? '' };
  };
  const putSecretValue = (
    name: string,
    value: { secretString?: string; secretBinary?: Uint8Array },
    stages?: string[],
    versionId: string = randomUUID(),
  ): { versionId: string } => {
    const { version } = store.putValue(store.get(name), value, versionId, stages);
    return { versionId: version.versionId };
  };
  for (const seed of options.secrets ?? []) createSecret(seed);

  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    handle(req, res).catch(() => req.socket.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    // Like AWS: every response carries a request id and the server's clock (the SDK corrects skew from Date).
    res.setHeader('x-amzn-RequestId', randomUUID());
    res.setHeader('Date', now().toUTCString());
    // Fires when the response is done or the client goes away: ends hangs and latency early for the latter.
    const gone = new AbortController();
    res.on('close', () => gone.abort());

    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === undefined) {
      sendJson(res, 413, { __type: 'SerializationException', message: 'Request body too large' }, 'application/json');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith('/__control/')) {
      if (!controlEnabled) {
        sendJson(res, 404, { message: 'control endpoints are disabled on this server' }, 'application/json');
        return;
      }
      const out = handleControl(req.method ?? 'GET', url, body, {
        setFaults: (f) => faults.set(f),
        currentFaults: () => faults.current(),
        calls: (filter) => calls.count(filter),
        resetCalls: () => calls.reset(),
        upsertSecret: ({ name, value, stages, versionId, description }) => {
          const existing = store.find(name);
          if (existing) return { ...putSecretValue(existing.name, value, stages, versionId), arn: existing.arn };
          const { secret } = store.create({ name, description });
          try {
            return { ...putSecretValue(secret.name, value, stages, versionId), arn: secret.arn };
          } catch (err) {
            store.delete(secret.name); // all or nothing: no empty secret left behind by a bad request
            throw err;
          }
        },
      });
      sendJson(res, out.status, out.body, 'application/json');
      return;
    }

    const target = headerValue(req, 'x-amz-target');
    const operation = target?.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : (target ?? '');
    let input: unknown;
    try {
      input = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch {
      input = undefined;
    }
    const secretName = secretNameOf(store, operation, input);
    const call = calls.record(operation, secretName);
    const logLine = (status: number | string, outcome: string) =>
      log?.(
        `${req.method} ${operation || '-'} secret=${secretName ?? '-'} ${status} ${outcome} ` +
          `${Math.round(performance.now() - started)}ms`,
      );

    // 2. Faults.
    const plan = faults.plan(operation, secretName);
    if (plan.hang) {
      call.settle('fault');
      logLine('-', 'fault:hang');
      // Served normally once the hang is lifted; its outcome is then replaced by the real one.
      if (!(await faults.park(gone.signal))) {
        req.socket.destroy();
        return;
      }
    } else {
      if (plan.drop) {
        call.settle('fault');
        logLine('-', 'fault:drop');
        req.socket.destroy();
        return;
      }
      if (plan.latencyMs > 0 && !(await faults.delay(plan.latencyMs, gone.signal))) {
        req.socket.destroy();
        return;
      }
      const injected = plan.throttle ? throttling() : plan.error ? internalServiceError() : undefined;
      if (injected) {
        call.settle('fault');
        sendError(res, injected);
        logLine(injected.status, `fault:${injected.type}`);
        return;
      }
    }

    // 3. Auth and 4. the operation. Date again: a hang or latency may have taken a while.
    res.setHeader('Date', now().toUTCString());
    try {
      const { accessKeyId } = await verifySigV4(
        {
          method: req.method ?? 'GET',
          path: (req.url ?? '/').split('?')[0]!,
          query: queryBag(url),
          rawHeaders: req.rawHeaders,
          body,
        },
        { region, service: SERVICE, now: now(), maxClockSkewMs, secretKeyOf: (key) => access.secretKeyOf(key) },
      );
      if (req.method !== 'POST' || !target?.startsWith(TARGET_PREFIX)) throw unknownOperation();
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        throw serialization('The request body must be a JSON object.');
      }
      const output = runOperation(operation, { store, access, accessKeyId }, input as Record<string, unknown>);
      call.settle('ok');
      sendJson(res, 200, output, 'application/x-amz-json-1.1');
      logLine(200, 'ok');
    } catch (err) {
      const error = err instanceof ServiceError ? err : internalServiceError();
      if (!(err instanceof ServiceError)) {
        // Name and stack only; an unexpected error's message could in theory quote input.
        log?.(`internal error in ${operation}: ${(err as Error)?.name ?? typeof err}`);
      }
      call.settle('error');
      sendError(res, error);
      logLine(error.status, error.type);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      faults.shutdown();
      server.close(() => resolve());
      // Idle keep-alive, in-flight and hanging sockets alike: close() must not wait for clients.
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
    });
    return closing;
  };

  return {
    url: `http://${urlHost(host)}:${port}`,
    port,
    region,
    accountId,
    close,
    setFaults: (f) => faults.set(f),
    clearFaults: () => faults.set({}),
    calls: (filter) => calls.count(filter),
    resetCalls: () => calls.reset(),
    putSecretValue: (name, value, stages) => putSecretValue(name, value, stages),
    createSecret,
    arnOf: (name) => store.get(name).arn,
  };
}

/** Seeds from JSON carry SecretBinary as base64 text; accept both forms. */
function seedValue(seed: SeedSecret): SecretValue | undefined {
  const binary = seed.secretBinary as Uint8Array | string | undefined;
  if (seed.secretString === undefined && binary === undefined) return undefined;
  return {
    secretString: seed.secretString,
    secretBinary: typeof binary === 'string' ? new Uint8Array(Buffer.from(binary, 'base64')) : binary,
  };
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function queryBag(url: URL): Record<string, string | string[]> {
  const bag: Record<string, string | string[]> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(key);
    bag[key] = values.length === 1 ? values[0]! : values;
  }
  return bag;
}

function sendJson(res: ServerResponse, status: number, body: unknown, contentType: string, extra: Record<string, string> = {}): void {
  if (res.destroyed || res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { ...extra, 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, error: ServiceError): void {
  sendJson(res, error.status, { __type: error.type, message: error.message }, 'application/x-amz-json-1.1', {
    'x-amzn-ErrorType': error.type,
  });
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
