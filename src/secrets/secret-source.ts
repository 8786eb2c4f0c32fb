/** Where credentials come from. The handler sees only the cache in front of it; AWS is one implementation. */

export interface SecretRef {
  /** Secret name or ARN. */
  readonly secretId: string;
}

export interface SecretVersion {
  readonly versionId: string;
  readonly secretString: string | undefined;
  /** Present only for binary secrets, which the broker refuses (they cannot be piped into a CLI). */
  readonly hasBinary: boolean;
}

export interface SecretSource {
  /**
   * Returns the AWSCURRENT version, or throws a BrokerError: `upstream_error` (the store refused) or
   * `upstream_unavailable` (unreachable, failing or too slow). Gives up by `deadlineAt` (epoch ms).
   */
  getCurrent(ref: SecretRef, options: { deadlineAt: number }): Promise<SecretVersion>;
  /** The AWSCURRENT version id from the secret's metadata (DescribeSecret): a reachability check that reads no value. */
  describeCurrent(ref: SecretRef, options: { deadlineAt: number }): Promise<{ versionId: string }>;
}
