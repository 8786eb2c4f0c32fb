/** Where credentials come from. The handler sees only this interface; AWS is one implementation. */

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
  /** Returns the AWSCURRENT version, or throws a BrokerError (`upstream_error` / `upstream_unavailable`). */
  getCurrent(ref: SecretRef, options?: { signal?: AbortSignal }): Promise<SecretVersion>;
}
