/**
 * SecretSource backed by AWS Secrets Manager through the AWS SDK. Every call is bounded by a deadline so a
 * slow or silent upstream turns into `upstream_unavailable` instead of a hanging sandbox.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { BrokerError } from '../errors.ts';
import type { SecretRef, SecretSource, SecretVersion } from './secret-source.ts';

export interface AwsSecretsManagerConfig {
  region: string;
  /** Endpoint override (local Secrets-Manager-compatible server, VPC endpoint, FIPS endpoint). */
  endpoint: string | undefined;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined };
  /** Hard deadline for one GetSecretValue, including the SDK's own retries. */
  timeoutMs: number;
}

/** The secret store answered and said no: the request will not succeed by retrying it (502). */
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
  readonly #timeoutMs: number;

  constructor(config: AwsSecretsManagerConfig) {
    this.#timeoutMs = config.timeoutMs;
    this.#client = new SecretsManagerClient({
      region: config.region,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      credentials: config.credentials,
      // Retries are bounded by our deadline; the SDK's own backoff would otherwise outlive it.
      maxAttempts: 2,
      requestHandler: { requestTimeout: config.timeoutMs },
    });
  }

  async getCurrent(ref: SecretRef, options: { signal?: AbortSignal } = {}): Promise<SecretVersion> {
    const deadline = AbortSignal.timeout(this.#timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    try {
      const output = await raceAbort(
        this.#client.send(new GetSecretValueCommand({ SecretId: ref.secretId, VersionStage: 'AWSCURRENT' }), {
          abortSignal: signal,
        }),
        signal,
      );
      if (!output.VersionId) throw new BrokerError('upstream_error', 'GetSecretValue returned no VersionId');
      return {
        versionId: output.VersionId,
        secretString: output.SecretString,
        hasBinary: output.SecretBinary !== undefined && output.SecretBinary.length > 0,
      };
    } catch (error) {
      throw classify(error, deadline.aborted);
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

function classify(error: unknown, timedOut: boolean): BrokerError {
  if (error instanceof BrokerError) return error;
  if (timedOut) return new BrokerError('upstream_unavailable', 'GetSecretValue deadline exceeded');
  const name = (error as { name?: string })?.name ?? 'unknown';
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  // Only names and statuses are recorded: SDK messages are not ours to vouch for.
  const detail = `GetSecretValue ${name}${status ? ` (HTTP ${status})` : ''}`;
  if (REFUSALS.has(name)) return new BrokerError('upstream_error', detail);
  return new BrokerError('upstream_unavailable', detail);
}
