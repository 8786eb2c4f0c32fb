/**
 * Reads the broker's own policy file (the one the Worker bundles) and lists the secrets it names, so the
 * AWS side and the Worker cannot drift apart: add a credential to policy.json, and the next deploy creates
 * its secret and grants the broker (and the rotation role) exactly that secret as well.
 *
 * Only the fields the infrastructure needs are read (`credentials.<name>.{description, kind, secret.id}`);
 * everything else (issuers, rules, admin, …) is the Worker's business and is validated by
 * `token-broker policy validate`.
 */
import { readFileSync } from 'node:fs';

export const CREDENTIAL_KINDS = ['codex_access_token', 'api_key'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

/** One credential of the policy, as far as the infrastructure cares. */
export interface PolicyCredential {
  name: string;
  kind: CredentialKind;
  description?: string;
  jsonKey?: string;
}

/** A secret the broker reads: a name this stack creates, or the complete ARN of an existing secret. */
export type SecretSpec =
  | { type: 'name'; name: string; description: string; credentials: PolicyCredential[] }
  | { type: 'arn'; arn: string; credentials: PolicyCredential[] };

/** A policy file that the infrastructure cannot use. */
export class PolicyFileError extends Error {
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'PolicyFileError';
  }
}

/** Secrets Manager secret names: 1–512 of these characters. */
const SECRET_NAME_PATTERN = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

/**
 * A complete secret ARN ends in the 6-character suffix Secrets Manager adds to the name. A partial ARN (no
 * suffix) cannot be granted exactly without a wildcard, so it is refused.
 */
const COMPLETE_SECRET_ARN_PATTERN =
  /^arn:aws(?:-[a-z]+)*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}-[A-Za-z0-9]{6}$/;

/** Secrets Manager limits a description to 2048 characters. */
const MAX_DESCRIPTION_LENGTH = 2048;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads and checks a policy file; returns one spec per distinct secret id, in policy order. */
export function readPolicySecrets(file: string): SecretSpec[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new PolicyFileError(file, `cannot read the policy file (${(error as Error).message})`);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new PolicyFileError(file, `not valid JSON (${(error as Error).message})`);
  }
  return policySecrets(document, file);
}

/** The secrets of an already parsed policy document. `file` is only used in error messages. */
export function policySecrets(document: unknown, file = 'policy'): SecretSpec[] {
  if (!isRecord(document)) throw new PolicyFileError(file, 'the policy must be a JSON object');
  const credentials = document.credentials;
  if (!isRecord(credentials)) throw new PolicyFileError(file, '"credentials" must be an object');
  const entries = Object.entries(credentials);
  if (entries.length === 0) {
    throw new PolicyFileError(file, '"credentials" is empty: there is no secret for the broker to read');
  }

  const specs = new Map<string, SecretSpec>();
  for (const [name, credential] of entries) {
    const where = `credentials.${name}`;
    if (!isRecord(credential)) throw new PolicyFileError(file, `${where} must be an object`);
    const { kind, description, secret } = credential;
    if (typeof kind !== 'string' || !(CREDENTIAL_KINDS as readonly string[]).includes(kind)) {
      throw new PolicyFileError(file, `${where}.kind must be one of ${CREDENTIAL_KINDS.join(', ')}`);
    }
    if (description !== undefined && typeof description !== 'string') {
      throw new PolicyFileError(file, `${where}.description must be a string`);
    }
    if (!isRecord(secret)) throw new PolicyFileError(file, `${where}.secret must be an object`);
    const { id, json_key: jsonKey } = secret;
    if (typeof id !== 'string' || id.length === 0) {
      throw new PolicyFileError(file, `${where}.secret.id must be a non-empty string`);
    }
    if (jsonKey !== undefined && typeof jsonKey !== 'string') {
      throw new PolicyFileError(file, `${where}.secret.json_key must be a string`);
    }
    const entry: PolicyCredential = { name, kind: kind as CredentialKind };
    if (description !== undefined) entry.description = description;
    if (jsonKey !== undefined) entry.jsonKey = jsonKey;

    const existing = specs.get(id);
    if (existing !== undefined) {
      existing.credentials.push(entry);
      continue;
    }
    if (id.startsWith('arn:')) {
      if (!COMPLETE_SECRET_ARN_PATTERN.test(id)) {
        throw new PolicyFileError(
          file,
          `${where}.secret.id is an ARN but not a complete secret ARN (arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-<6 characters>); ` +
            'use the complete ARN that `aws secretsmanager describe-secret` prints, or the secret name',
        );
      }
      specs.set(id, { type: 'arn', arn: id, credentials: [entry] });
    } else {
      if (!SECRET_NAME_PATTERN.test(id)) {
        throw new PolicyFileError(
          file,
          `${where}.secret.id "${id}" is not a valid secret name (1-512 of A-Z a-z 0-9 / _ + = . @ -)`,
        );
      }
      specs.set(id, { type: 'name', name: id, description: '', credentials: [entry] });
    }
  }

  for (const spec of specs.values()) {
    if (spec.type === 'name') spec.description = secretDescription(spec.credentials);
  }
  return [...specs.values()];
}

/** The secret's description: the credentials' own descriptions (or names), so the console says what it is. */
function secretDescription(credentials: PolicyCredential[]): string {
  const text = credentials
    .map((credential) => {
      const what = credential.description ?? `token-broker credential "${credential.name}" (${credential.kind})`;
      return credentials.length > 1 ? `${credential.name}: ${what}` : what;
    })
    .join(' | ');
  return text.length <= MAX_DESCRIPTION_LENGTH ? text : `${text.slice(0, MAX_DESCRIPTION_LENGTH - 1)}…`;
}
