/**
 * SecretSource backed by AWS Secrets Manager through the AWS SDK, with bounded behaviour: each call times
 * out after at most 3 s, throttling and 5xx are retried with full-jitter backoff, and everything stops at
 * the request's deadline so a slow or silent upstream becomes `upstream_unavailable`, never a hang.
 */
import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { BrokerError } from '../errors.ts';
import type { SecretRef, SecretSource, SecretVersion } from './secret-source.ts';

export interface AwsSecretsManagerConfig {
  region: string;
  /** Endpoint override (local Secrets-Manager-compatible server, VPC endpoint, FIPS endpoint). */
  endpoint: string | undefined;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined };
}

export const MAX_ATTEMPT_MS = 3_000;
export const MAX_ATTEMPTS = 3;
/** An attempt with less time than this left is not worth starting. */
const MIN_ATTEMPT_MS = 250;
const BASE_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 800;

/** The secret store answered and said no: retrying will not help (502). */
const REFUSALS = new Set([
  'ResourceNotFoundException',
  'AccessDeniedException',
  'AccessDeniedFault',
  'DecryptionFailure',
  'InvalidRequestException',
  'InvalidParameterException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'IncompleteSignatureException',
  'ValidationException',
  'SerializationException',
  'MissingAuthenticationTokenException',
  'ExpiredTokenException',
]);

export class AwsSecretsManagerSource implements SecretSource {
  readonly #client: SecretsManagerClient;

  constructor(
    config: AwsSecretsManagerConfig,
    private readonly random: () => number = Math.random,
  ) {
    this.#client = new SecretsManagerClient({
      region: config.region,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      credentials: config.credentials,
      // Retries are ours (bounded by the request deadline), not the SDK's.
      maxAttempts: 1,
    });
  }

  async getCurrent(ref: SecretRef, { deadlineAt }: { deadlineAt: number }): Promise<SecretVersion> {
    let lastError: BrokerError = new BrokerError('upstream_unavailable', 'GetSecretValue not attempted: no time left');
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const remaining = deadlineAt - Date.now();
      if (remaining < MIN_ATTEMPT_MS) break;
      try {
        return await this.#attempt(ref, Math.min(MAX_ATTEMPT_MS, remaining));
      } catch (error) {
        lastError = error as BrokerError;
        if (lastError.code !== 'upstream_unavailable') throw lastError;
      }
      if (attempt === MAX_ATTEMPTS) break;
      const backoff = this.random() * Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** attempt);
      if (Date.now() + backoff + MIN_ATTEMPT_MS > deadlineAt) break;
      await new Promise((resolve) => setTimeout(resolve, backoff));
    }
    throw lastError;
  }

  async describeCurrent(ref: SecretRef, { deadlineAt }: { deadlineAt: number }): Promise<{ versionId: string }> {
    const timeout = AbortSignal.timeout(Math.max(1, Math.min(MAX_ATTEMPT_MS, deadlineAt - Date.now())));
    try {
      const output = await raceAbort(this.#client.send(new DescribeSecretCommand({ SecretId: ref.secretId }), { abortSignal: timeout }), timeout);
      const current = Object.entries(output.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes('AWSCURRENT'));
      if (!current) throw new BrokerError('upstream_error', 'DescribeSecret shows no AWSCURRENT version');
      return { versionId: current[0] };
    } catch (error) {
      throw classify(error, timeout.aborted, 'DescribeSecret');
    }
  }

  async #attempt(ref: SecretRef, timeoutMs: number): Promise<SecretVersion> {
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      const output = await raceAbort(
        this.#client.send(new GetSecretValueCommand({ SecretId: ref.secretId, VersionStage: 'AWSCURRENT' }), { abortSignal: timeout }),
        timeout,
      );
      if (!output.VersionId) throw new BrokerError('upstream_error', 'GetSecretValue returned no VersionId');
      // Only AWSCURRENT is ever served: a version without that label (AWSPENDING mid-rotation) is refused.
      if (output.VersionStages && !output.VersionStages.includes('AWSCURRENT')) {
        throw new BrokerError('upstream_error', 'GetSecretValue returned a version that is not AWSCURRENT');
      }
      return {
        versionId: output.VersionId,
        secretString: output.SecretString,
        hasBinary: output.SecretBinary !== undefined && output.SecretBinary.length > 0,
      };
    } catch (error) {
      throw classify(error, timeout.aborted);
    }
  }
}

/** The SDK honours abortSignal, but a promise race guarantees the deadline even if a layer ignores it. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason ?? new DOMException('aborted', 'AbortError'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function classify(error: unknown, timedOut: boolean, operation = 'GetSecretValue'): BrokerError {
  if (error instanceof BrokerError) return error;
  if (timedOut) return new BrokerError('upstream_unavailable', `${operation} attempt timed out`);
  const name = (error as { name?: string })?.name ?? 'unknown';
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  // Only names and statuses are recorded: SDK messages are not ours to vouch for.
  const detail = `${operation} ${name}${status ? ` (HTTP ${status})` : ''}`;
  if (REFUSALS.has(name)) return new BrokerError('upstream_error', detail);
  return new BrokerError('upstream_unavailable', detail);
}
