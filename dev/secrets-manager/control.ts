/**
 * Unauthenticated control endpoints under /__control/, for code that cannot hold the server object: the
 * worker inside workerd, other processes, drill scripts. Served only on loopback servers (see
 * `controlEndpoints`). Not counted in calls() and never subject to faults.
 *
 *   GET  /__control/health                          → {"ok": true}
 *   GET  /__control/faults                          → current Faults
 *   POST /__control/faults     Faults JSON ({} clears) → {"ok": true, "faults": {...}}
 *   GET  /__control/calls?operation=&secretName=&outcome= → {"count": n}
 *   POST /__control/calls/reset                     → {"ok": true}
 *   POST /__control/secrets    {name, secretString | secretBinaryBase64, stages?, versionId?, description?}
 *                                                   → {"versionId", "arn"} (creates the secret if needed)
 */
import { ServiceError } from './errors.ts';
import type { CallOutcome, Faults } from './types.ts';

export interface ControlDeps {
  setFaults(f: Faults): void;
  currentFaults(): Faults;
  calls(filter: { operation?: string; secretName?: string; outcome?: CallOutcome }): number;
  resetCalls(): void;
  upsertSecret(input: {
    name: string;
    value: { secretString?: string; secretBinary?: Uint8Array };
    stages?: string[];
    versionId?: string;
    description?: string;
  }): { versionId: string; arn: string };
}

export interface ControlResponse {
  status: number;
  body: unknown;
}

const OUTCOMES = new Set<string>(['ok', 'error', 'fault']);

export function handleControl(method: string, url: URL, body: Buffer, deps: ControlDeps): ControlResponse {
  const route = `${method} ${url.pathname.replace(/\/+$/, '')}`;
  try {
    switch (route) {
      case 'GET /__control/health':
        return { status: 200, body: { ok: true } };
      case 'GET /__control/faults':
        return { status: 200, body: deps.currentFaults() };
      case 'POST /__control/faults': {
        deps.setFaults(parseJson(body) as Faults);
        return { status: 200, body: { ok: true, faults: deps.currentFaults() } };
      }
      case 'GET /__control/calls': {
        const filter: { operation?: string; secretName?: string; outcome?: CallOutcome } = {};
        const operation = url.searchParams.get('operation');
        const secretName = url.searchParams.get('secretName');
        const outcome = url.searchParams.get('outcome');
        if (operation) filter.operation = operation;
        if (secretName) filter.secretName = secretName;
        if (outcome) {
          if (!OUTCOMES.has(outcome)) throw new TypeError('outcome must be ok, error or fault');
          filter.outcome = outcome as CallOutcome;
        }
        return { status: 200, body: { count: deps.calls(filter) } };
      }
      case 'POST /__control/calls/reset':
        deps.resetCalls();
        return { status: 200, body: { ok: true } };
      case 'POST /__control/secrets':
        return { status: 200, body: deps.upsertSecret(parseSecretBody(parseJson(body))) };
      default:
        return { status: 404, body: { message: `no control endpoint ${route}` } };
    }
  } catch (err) {
    if (err instanceof ServiceError) return { status: err.status, body: { __type: err.type, message: err.message } };
    if (err instanceof TypeError || err instanceof SyntaxError) return { status: 400, body: { message: err.message } };
    throw err;
  }
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    // The body may hold a secret value: never echo it.
    throw new TypeError('body is not valid JSON');
  }
}

function parseSecretBody(input: unknown): Parameters<ControlDeps['upsertSecret']>[0] {
  if (typeof input !== 'object' || input === null) throw new TypeError('body must be a JSON object');
  const b = input as Record<string, unknown>;
  if (typeof b.name !== 'string' || b.name === '') throw new TypeError('name must be a non-empty string');
  const hasString = typeof b.secretString === 'string';
  const hasBinary = typeof b.secretBinaryBase64 === 'string';
  if (hasString === hasBinary) throw new TypeError('give exactly one of secretString, secretBinaryBase64');
  if (b.stages !== undefined && (!Array.isArray(b.stages) || !b.stages.every((s) => typeof s === 'string'))) {
    throw new TypeError('stages must be an array of strings');
  }
  for (const key of ['versionId', 'description'] as const) {
    if (b[key] !== undefined && typeof b[key] !== 'string') throw new TypeError(`${key} must be a string`);
  }
  return {
    name: b.name,
    value: hasString
      ? { secretString: b.secretString as string }
      : { secretBinary: new Uint8Array(Buffer.from(b.secretBinaryBase64 as string, 'base64')) },
    ...(b.stages !== undefined ? { stages: b.stages as string[] } : {}),
    ...(b.versionId !== undefined ? { versionId: b.versionId as string } : {}),
    ...(b.description !== undefined ? { description: b.description as string } : {}),
  };
}
