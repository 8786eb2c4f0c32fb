/**
 * In-memory secrets with versions and staging labels, following the rules AWS documents for
 * PutSecretValue / UpdateSecretVersionStage:
 * - a version id (ClientRequestToken) is immutable: same id + same value is an idempotent no-op, same id +
 *   different value is ResourceExistsException;
 * - a staging label is attached to at most one version of a secret;
 * - when AWSCURRENT moves, the version that held it gets AWSPREVIOUS (taken from whoever had it);
 * - a version without labels is "deprecated": hidden from listings unless asked for, still readable by id.
 *
 * Both the HTTP operations and the direct test API go through this class, so they share the semantics.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { invalidParameter, limitExceeded, resourceExists, resourceNotFound, validation } from './errors.ts';

export const AWSCURRENT = 'AWSCURRENT';
export const AWSPREVIOUS = 'AWSPREVIOUS';

/** AWS keeps at most about 100 versions; older deprecated ones are removed first. */
const MAX_VERSIONS = 100;
const MAX_VALUE_BYTES = 65536;
const MAX_STAGES_PER_VERSION = 20;
const NAME_PATTERN = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export interface SecretValue {
  secretString?: string | undefined;
  secretBinary?: Uint8Array | undefined;
}

export interface SecretVersion {
  readonly versionId: string;
  readonly value: SecretValue;
  readonly createdDate: Date;
  readonly stages: Set<string>;
  lastAccessedDate?: Date;
}

export interface StoredSecret {
  readonly name: string;
  readonly arn: string;
  description?: string | undefined;
  kmsKeyId?: string | undefined;
  readonly createdDate: Date;
  lastChangedDate: Date;
  lastAccessedDate?: Date;
  /** Insertion order = creation order. */
  readonly versions: Map<string, SecretVersion>;
}

export interface StoreOptions {
  region: string;
  accountId: string;
  now: () => Date;
}

export class SecretStore {
  private readonly secrets = new Map<string, StoredSecret>();
  readonly arnPrefix: string;
  private readonly now: () => Date;

  constructor(options: StoreOptions) {
    this.arnPrefix = `arn:aws:secretsmanager:${options.region}:${options.accountId}:secret:`;
    this.now = options.now;
  }

  /** SecretId may be a name, a full ARN, or a partial ARN (without AWS's "-xxxxxx" suffix). */
  find(secretId: string): StoredSecret | undefined {
    if (!secretId.startsWith('arn:')) return this.secrets.get(secretId);
    if (!secretId.startsWith(this.arnPrefix)) return undefined;
    for (const secret of this.secrets.values()) {
      if (secret.arn === secretId) return secret;
    }
    return this.secrets.get(secretId.slice(this.arnPrefix.length));
  }

  get(secretId: string): StoredSecret {
    const secret = this.find(secretId);
    if (!secret) throw resourceNotFound();
    return secret;
  }

  /** Best-effort secret name for access checks and call counting, also for secrets that do not exist. */
  nameOf(secretId: string): string {
    const secret = this.find(secretId);
    if (secret) return secret.name;
    return secretId.startsWith(this.arnPrefix) ? secretId.slice(this.arnPrefix.length) : secretId;
  }

  create(input: {
    name: string;
    description?: string | undefined;
    kmsKeyId?: string | undefined;
    value?: SecretValue | undefined;
    versionId?: string | undefined;
  }): { secret: StoredSecret; version: SecretVersion | undefined } {
    if (!NAME_PATTERN.test(input.name)) {
      throw invalidParameter(
        'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!',
      );
    }
    const hasValue = input.value !== undefined && hasAnyValue(input.value);
    if (hasValue) validateValue(input.value!);
    if (input.versionId !== undefined) validateVersionId(input.versionId, 'clientRequestToken');

    const existing = this.secrets.get(input.name);
    if (existing) {
      // A retried CreateSecret (the SDK reuses its idempotency token across retries) must not fail.
      const retried = input.versionId !== undefined ? existing.versions.get(input.versionId) : undefined;
      if (retried && hasValue && sameValue(retried.value, input.value!)) return { secret: existing, version: retried };
      throw resourceExists(`The operation failed because the secret ${input.name} already exists.`);
    }

    const now = this.now();
    const secret: StoredSecret = {
      name: input.name,
      arn: `${this.arnPrefix}${input.name}-${randomSuffix()}`,
      description: input.description,
      kmsKeyId: input.kmsKeyId,
      createdDate: now,
      lastChangedDate: now,
      versions: new Map(),
    };
    this.secrets.set(secret.name, secret);
    if (!hasValue) return { secret, version: undefined };
    const { version } = this.putValue(secret, input.value!, input.versionId ?? randomUUID(), [AWSCURRENT]);
    return { secret, version };
  }

  /** Only for undoing a half-done control request; AWS's DeleteSecret (recovery window etc.) is not modelled. */
  delete(name: string): void {
    this.secrets.delete(name);
  }

  putValue(
    secret: StoredSecret,
    value: SecretValue,
    versionId: string,
    stages: string[] = [AWSCURRENT],
  ): { version: SecretVersion; created: boolean } {
    validateValue(value);
    validateVersionId(versionId, 'clientRequestToken');
    validateStageList(stages);

    const existing = secret.versions.get(versionId);
    if (existing) {
      if (sameValue(existing.value, value)) return { version: existing, created: false };
      throw resourceExists("You can't modify an existing version, you can only create a new version.");
    }

    const version: SecretVersion = {
      versionId,
      value: copyValue(value),
      createdDate: this.now(),
      stages: new Set(),
    };
    secret.versions.set(versionId, version);
    // AWSCURRENT first, so an explicit AWSPREVIOUS in the same request wins over the automatic one.
    const ordered = [...new Set(stages)].sort((a, b) => Number(b === AWSCURRENT) - Number(a === AWSCURRENT));
    for (const stage of ordered) this.attach(secret, stage, version);
    secret.lastChangedDate = this.now();
    this.trim(secret);
    return { version, created: true };
  }

  /** UpdateSecretVersionStage, with AWS's rule that a label attached elsewhere must be named in RemoveFromVersionId. */
  updateStage(secret: StoredSecret, stage: string, moveTo?: string, removeFrom?: string): void {
    validateStage(stage);
    if (moveTo !== undefined) validateVersionId(moveTo, 'moveToVersionId');
    if (removeFrom !== undefined) validateVersionId(removeFrom, 'removeFromVersionId');
    if (moveTo === undefined && removeFrom === undefined) {
      throw invalidParameter('You must specify MoveToVersionId, RemoveFromVersionId, or both.');
    }
    const target = moveTo !== undefined ? this.versionById(secret, moveTo) : undefined;
    if (removeFrom !== undefined) this.versionById(secret, removeFrom);

    const holder = this.versionByStage(secret, stage);
    if (removeFrom !== undefined && holder?.versionId !== removeFrom) {
      throw invalidParameter(`The staging label ${stage} is not attached to version ${removeFrom}.`);
    }

    if (target) {
      if (holder && holder !== target && removeFrom === undefined) {
        throw invalidParameter(
          `The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently attached to ` +
            `version ${holder.versionId}, so you must explicitly reference that version in RemoveFromVersionId.`,
        );
      }
      if (holder !== target) {
        if (target.stages.size >= MAX_STAGES_PER_VERSION) {
          throw limitExceeded('The request failed because it would exceed one of the Secrets Manager quotas.');
        }
        this.attach(secret, stage, target);
      }
    } else {
      if (stage === AWSCURRENT) {
        throw invalidParameter(
          'You can only move staging label AWSCURRENT to a different secret version. It can’t be completely removed.',
        );
      }
      holder!.stages.delete(stage);
    }
    secret.lastChangedDate = this.now();
    this.trim(secret);
  }

  versionById(secret: StoredSecret, versionId: string): SecretVersion {
    const version = secret.versions.get(versionId);
    if (!version) throw resourceNotFound(`Secrets Manager can't find the specified secret value for VersionId: ${versionId}`);
    return version;
  }

  versionByStage(secret: StoredSecret, stage: string): SecretVersion | undefined {
    for (const version of secret.versions.values()) {
      if (version.stages.has(stage)) return version;
    }
    return undefined;
  }

  /** GetSecretValue's selection: VersionId and/or VersionStage (default AWSCURRENT); both must agree. */
  select(secret: StoredSecret, versionId?: string, versionStage?: string): SecretVersion {
    if (versionId !== undefined) validateVersionId(versionId, 'versionId');
    if (versionStage !== undefined) validateStage(versionStage);
    if (versionId !== undefined) {
      const version = this.versionById(secret, versionId);
      if (versionStage !== undefined && !version.stages.has(versionStage)) {
        throw invalidParameter('You provided a VersionStage that is not associated to the provided VersionId.');
      }
      return version;
    }
    const stage = versionStage ?? AWSCURRENT;
    const version = this.versionByStage(secret, stage);
    if (!version) throw resourceNotFound(`Secrets Manager can't find the specified secret value for staging label: ${stage}`);
    return version;
  }

  /** AWS records access by day only. */
  touch(secret: StoredSecret, version: SecretVersion): void {
    const now = this.now();
    const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    secret.lastAccessedDate = day;
    version.lastAccessedDate = day;
  }

  private attach(secret: StoredSecret, stage: string, version: SecretVersion): void {
    const previousHolder = this.versionByStage(secret, stage);
    if (previousHolder === version) return;
    previousHolder?.stages.delete(stage);
    version.stages.add(stage);
    if (stage === AWSCURRENT && previousHolder) this.attach(secret, AWSPREVIOUS, previousHolder);
  }

  private trim(secret: StoredSecret): void {
    for (const version of [...secret.versions.values()]) {
      if (secret.versions.size <= MAX_VERSIONS) return;
      if (version.stages.size === 0) secret.versions.delete(version.versionId);
    }
  }
}

function hasAnyValue(value: SecretValue): boolean {
  return value.secretString !== undefined || value.secretBinary !== undefined;
}

function validateValue(value: SecretValue): void {
  const hasString = value.secretString !== undefined;
  const hasBinary = value.secretBinary !== undefined;
  if (hasString === hasBinary) {
    throw invalidParameter('You must provide either SecretString or SecretBinary, but not both.');
  }
  const size = hasString ? Buffer.byteLength(value.secretString!, 'utf8') : value.secretBinary!.byteLength;
  if (size > MAX_VALUE_BYTES) {
    // Sizes only: the value itself must never reach an error message.
    throw validation(`1 validation error detected: the secret value must be at most ${MAX_VALUE_BYTES} bytes`);
  }
}

function validateVersionId(versionId: string, member: string): void {
  if (versionId.length < 32 || versionId.length > 64) {
    throw validation(
      `1 validation error detected: Value at '${member}' failed to satisfy constraint: ` +
        'Member must have length between 32 and 64',
    );
  }
}

function validateStage(stage: string): void {
  if (stage.length < 1 || stage.length > 256) {
    throw validation(
      "1 validation error detected: Value at 'versionStage' failed to satisfy constraint: " +
        'Member must have length between 1 and 256',
    );
  }
}

function validateStageList(stages: string[]): void {
  if (stages.length < 1 || stages.length > MAX_STAGES_PER_VERSION) {
    throw validation(
      "1 validation error detected: Value at 'versionStages' failed to satisfy constraint: " +
        `Member must have length between 1 and ${MAX_STAGES_PER_VERSION}`,
    );
  }
  for (const stage of stages) validateStage(stage);
}

export function sameValue(a: SecretValue, b: SecretValue): boolean {
  if (a.secretString !== undefined || b.secretString !== undefined) return a.secretString === b.secretString;
  if (a.secretBinary === undefined || b.secretBinary === undefined) return a.secretBinary === b.secretBinary;
  return Buffer.from(a.secretBinary).equals(Buffer.from(b.secretBinary));
}

function copyValue(value: SecretValue): SecretValue {
  return value.secretString !== undefined
    ? { secretString: value.secretString }
    : { secretBinary: new Uint8Array(value.secretBinary!) };
}

function randomSuffix(): string {
  let suffix = '';
  for (let i = 0; i < 6; i++) suffix += SUFFIX_ALPHABET[randomInt(SUFFIX_ALPHABET.length)];
  return suffix;
}
