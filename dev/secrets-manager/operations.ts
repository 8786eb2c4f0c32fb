/**
 * One handler per Secrets Manager operation: read the JSON input the way AWS's front end validates it,
 * check the caller's allow list, apply the change to the store, shape the JSON output like AWS
 * (dates as epoch seconds, SecretBinary as base64, empty members omitted).
 */
import { randomUUID } from 'node:crypto';
import type { AccessPolicy } from './access.ts';
import { ServiceError, serialization, unknownOperation, validation } from './errors.ts';
import type { SecretStore, SecretValue, SecretVersion, StoredSecret } from './store.ts';

export interface OperationContext {
  store: SecretStore;
  access: AccessPolicy;
  accessKeyId: string;
}

type Input = Record<string, unknown>;
type Output = Record<string, unknown>;
type Handler = (ctx: OperationContext, input: Input) => Output;

export const OPERATIONS: Record<string, Handler> = {
  GetSecretValue(ctx, input) {
    const secretId = secretIdOf(input);
    const versionId = optString(input, 'VersionId');
    const versionStage = optString(input, 'VersionStage');
    const secret = authorizedSecret(ctx, 'GetSecretValue', secretId);
    const version = ctx.store.select(secret, versionId, versionStage);
    ctx.store.touch(secret, version);
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.versionId,
      ...valueOutput(version.value),
      VersionStages: [...version.stages],
      CreatedDate: epochSeconds(version.createdDate),
    };
  },

  PutSecretValue(ctx, input) {
    const secretId = secretIdOf(input);
    const token = optString(input, 'ClientRequestToken') ?? randomUUID();
    const value = valueInput(input);
    const stages = optStringList(input, 'VersionStages');
    const secret = authorizedSecret(ctx, 'PutSecretValue', secretId);
    const { version } = ctx.store.putValue(secret, value, token, stages);
    return { ARN: secret.arn, Name: secret.name, VersionId: version.versionId, VersionStages: [...version.stages] };
  },

  DescribeSecret(ctx, input) {
    const secret = authorizedSecret(ctx, 'DescribeSecret', secretIdOf(input));
    const versionIdsToStages: Record<string, string[]> = {};
    for (const v of secret.versions.values()) {
      if (v.stages.size > 0) versionIdsToStages[v.versionId] = [...v.stages];
    }
    return omitUndefined({
      ARN: secret.arn,
      Name: secret.name,
      Description: secret.description,
      KmsKeyId: secret.kmsKeyId,
      LastChangedDate: epochSeconds(secret.lastChangedDate),
      LastAccessedDate: secret.lastAccessedDate && epochSeconds(secret.lastAccessedDate),
      CreatedDate: epochSeconds(secret.createdDate),
      VersionIdsToStages: versionIdsToStages,
    });
  },

  ListSecretVersionIds(ctx, input) {
    const secretId = secretIdOf(input);
    const includeDeprecated = optBoolean(input, 'IncludeDeprecated') ?? false;
    const maxResults = optInteger(input, 'MaxResults');
    if (maxResults !== undefined && (maxResults < 1 || maxResults > 100)) {
      throw validation(
        "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100",
      );
    }
    const start = decodeNextToken(optString(input, 'NextToken'));
    const secret = authorizedSecret(ctx, 'ListSecretVersionIds', secretId);
    const all = [...secret.versions.values()].filter((v) => includeDeprecated || v.stages.size > 0);
    const end = maxResults === undefined ? all.length : Math.min(all.length, start + maxResults);
    return omitUndefined({
      ARN: secret.arn,
      Name: secret.name,
      Versions: all.slice(start, end).map(versionEntry),
      NextToken: end < all.length ? encodeNextToken(end) : undefined,
    });
  },

  UpdateSecretVersionStage(ctx, input) {
    const secretId = secretIdOf(input);
    const stage = requiredString(input, 'VersionStage');
    const moveTo = optString(input, 'MoveToVersionId');
    const removeFrom = optString(input, 'RemoveFromVersionId');
    const secret = authorizedSecret(ctx, 'UpdateSecretVersionStage', secretId);
    ctx.store.updateStage(secret, stage, moveTo, removeFrom);
    return { ARN: secret.arn, Name: secret.name };
  },

  CreateSecret(ctx, input) {
    const name = requiredString(input, 'Name');
    const token = optString(input, 'ClientRequestToken');
    const description = optString(input, 'Description');
    if (description !== undefined && description.length > 2048) {
      throw validation(
        "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 2048",
      );
    }
    const kmsKeyId = optString(input, 'KmsKeyId');
    const value = valueInput(input);
    const hasValue = value.secretString !== undefined || value.secretBinary !== undefined;
    ctx.access.authorize(ctx.accessKeyId, 'CreateSecret', name);
    const { secret, version } = ctx.store.create({
      name,
      description,
      kmsKeyId,
      value: hasValue ? value : undefined,
      versionId: hasValue ? (token ?? randomUUID()) : undefined,
    });
    return omitUndefined({ ARN: secret.arn, Name: secret.name, VersionId: version?.versionId });
  },
};

export function runOperation(operation: string, ctx: OperationContext, input: Input): Output {
  const handler = Object.hasOwn(OPERATIONS, operation) ? OPERATIONS[operation] : undefined;
  if (!handler) throw unknownOperation();
  return handler(ctx, input);
}

/** The secret a request is about, for call counting and logs: SecretId (resolved to a name) or Name. */
export function secretNameOf(store: SecretStore, operation: string, input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const body = input as Input;
  const id = operation === 'CreateSecret' ? body.Name : body.SecretId;
  return typeof id === 'string' ? store.nameOf(id) : undefined;
}

/** Access is checked on the name before existence, so a denied caller can't probe for secrets. */
function authorizedSecret(ctx: OperationContext, action: string, secretId: string): StoredSecret {
  ctx.access.authorize(ctx.accessKeyId, action, ctx.store.nameOf(secretId));
  return ctx.store.get(secretId);
}

function secretIdOf(input: Input): string {
  const id = requiredString(input, 'SecretId');
  if (id.length < 1 || id.length > 2048) {
    throw validation(
      "1 validation error detected: Value at 'secretId' failed to satisfy constraint: Member must have length between 1 and 2048",
    );
  }
  return id;
}

function valueInput(input: Input): SecretValue {
  const secretString = optString(input, 'SecretString');
  const base64 = optString(input, 'SecretBinary');
  if (base64 !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) {
    throw serialization('SecretBinary must be base64-encoded');
  }
  return {
    secretString,
    secretBinary: base64 === undefined ? undefined : new Uint8Array(Buffer.from(base64, 'base64')),
  };
}

function valueOutput(value: SecretValue): Output {
  return value.secretString !== undefined
    ? { SecretString: value.secretString }
    : { SecretBinary: Buffer.from(value.secretBinary!).toString('base64') };
}

function versionEntry(v: SecretVersion): Output {
  return omitUndefined({
    VersionId: v.versionId,
    VersionStages: v.stages.size > 0 ? [...v.stages] : undefined,
    LastAccessedDate: v.lastAccessedDate && epochSeconds(v.lastAccessedDate),
    CreatedDate: epochSeconds(v.createdDate),
  });
}

function memberName(key: string): string {
  return key[0]!.toLowerCase() + key.slice(1);
}

function requiredString(input: Input, key: string): string {
  const value = optString(input, key);
  if (value === undefined) {
    throw validation(
      `1 validation error detected: Value null at '${memberName(key)}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

// Type errors name the member only: the offending value could be a secret.
function optString(input: Input, key: string): string | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw serialization(`${key} must be a string`);
  return value;
}

function optBoolean(input: Input, key: string): boolean | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw serialization(`${key} must be a boolean`);
  return value;
}

function optInteger(input: Input, key: string): number | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw serialization(`${key} must be an integer`);
  return value;
}

function optStringList(input: Input, key: string): string[] | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw serialization(`${key} must be a list of strings`);
  }
  return value as string[];
}

function encodeNextToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset }), 'utf8').toString('base64');
}

function decodeNextToken(token: string | undefined): number {
  if (token === undefined) return 0;
  try {
    const { offset } = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { offset: unknown };
    if (typeof offset === 'number' && Number.isInteger(offset) && offset >= 0) return offset;
  } catch {
    // fall through
  }
  throw new ServiceError('InvalidNextTokenException', 'The NextToken value is invalid.');
}

function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

function omitUndefined(output: Output): Output {
  return Object.fromEntries(Object.entries(output).filter(([, v]) => v !== undefined));
}
