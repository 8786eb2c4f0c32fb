/**
 * Public types of the local Secrets Manager server. `server.ts` re-exports them; other code imports from there.
 */

export interface Principal {
  accessKeyId: string;
  secretAccessKey: string;
  /**
   * What this key may do. `actions`: operation names ("GetSecretValue"; "secretsmanager:GetSecretValue" is
   * accepted too) or "*". `secrets`: secret names or "*"; a "*" inside a name matches any run of characters
   * ("app/*").
   */
  allow: { actions: string[]; secrets: string[] };
}

export interface SeedSecret {
  name: string;
  description?: string;
  secretString?: string;
  /** Raw bytes. A JSON seed file carries base64 here instead; `main.ts` decodes it. */
  secretBinary?: Uint8Array;
  /** Version id of the initial version (AWS's ClientRequestToken, 32..64 chars); random UUID when absent. */
  versionId?: string;
  kmsKeyId?: string;
}

export interface SecretsManagerServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default us-east-1. Requests signed for another region fail like on AWS. */
  region?: string;
  /** Default 000000000000. */
  accountId?: string;
  principals: Principal[];
  secrets?: SeedSecret[];
  /**
   * Injectable clock for CreatedDate/LastChangedDate, the `Date` response header and the signature time
   * check. The SDK corrects its own clock from `Date` after a skew error, as it does against AWS.
   */
  now?: () => Date;
  /** Allowed difference between X-Amz-Date and `now()`. Default 5 minutes, like AWS. */
  maxClockSkewMs?: number;
  /** Source of randomness for fault rates; default Math.random. */
  random?: () => number;
  /**
   * Serve `/__control/*`. Default: only when `host` is a loopback address, so a server bound to a public
   * interface never exposes unauthenticated control.
   */
  controlEndpoints?: boolean;
  /** One line per request (operation, secret name, status, outcome; never values). Default: silent. */
  log?: (line: string) => void;
}

export interface Faults {
  /** Delay before answering, in ms. */
  latencyMs?: number;
  /** 0..1: share of requests answered with ThrottlingException (HTTP 400). */
  throttleRate?: number;
  /** 0..1: share of requests answered with InternalServiceError (HTTP 500). */
  errorRate?: number;
  /** Destroy the socket without answering. */
  dropConnections?: boolean;
  /** Accept and never answer, until the hang is cleared (then the request is served) or the server closes. */
  hang?: boolean;
  /** Limit faults to these operations (e.g. ["GetSecretValue"]); default all. */
  operations?: string[];
  /** Limit faults to requests for these secret names; default all. */
  secretNames?: string[];
}

export type CallOutcome = 'ok' | 'error' | 'fault';

export interface CallFilter {
  operation?: string;
  secretName?: string;
  outcome?: CallOutcome;
}

export interface RunningSecretsManagerServer {
  url: string;
  port: number;
  region: string;
  accountId: string;
  /** Closes the listener and every open, idle or hanging socket; resolves without waiting for clients. */
  close(): Promise<void>;
  setFaults(f: Faults): void;
  clearFaults(): void;
  /** Requests that reached the server (body received), counted on arrival; outcome is filled in when known. */
  calls(filter?: CallFilter): number;
  resetCalls(): void;
  /** Same semantics as the PutSecretValue operation (stages default to ["AWSCURRENT"]), without auth or faults. */
  putSecretValue(
    name: string,
    value: { secretString?: string; secretBinary?: Uint8Array },
    stages?: string[],
  ): { versionId: string };
  /** Same semantics as CreateSecret. `versionId` is "" when the seed has no value. */
  createSecret(s: SeedSecret): { arn: string; versionId: string };
  arnOf(name: string): string;
}
