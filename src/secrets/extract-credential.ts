/**
 * Turns a stored secret version into the credential value for one credential kind. Error details name
 * only what was wrong (missing key, not JSON), never any part of the value.
 */
import { BrokerError } from '../errors.ts';
import type { CredentialKind } from '../policy/schema.ts';
import type { SecretVersion } from './secret-source.ts';

const MAX_VALUE_LENGTH = 16 * 1024;
/** Printable ASCII without spaces: what fits in one shell line and one HTTP header. */
const TOKEN_CHARACTERS = /^[\x21-\x7e]+$/;

export function extractCredential(version: SecretVersion, jsonKey: string | undefined, kind: CredentialKind): string {
  if (version.secretString === undefined) {
    throw new BrokerError('secret_format', version.hasBinary ? 'secret is binary' : 'secret has no SecretString');
  }
  let value: unknown = version.secretString;
  if (jsonKey !== undefined) {
    let document: unknown;
    try {
      document = JSON.parse(version.secretString);
    } catch {
      throw new BrokerError('secret_format', 'SecretString is not JSON but the credential names a json_key');
    }
    if (typeof document !== 'object' || document === null || Array.isArray(document) || !Object.hasOwn(document, jsonKey)) {
      throw new BrokerError('secret_format', 'json_key not present in SecretString');
    }
    value = (document as Record<string, unknown>)[jsonKey];
    if (typeof value !== 'string') throw new BrokerError('secret_format', 'json_key value is not a string');
  }
  const credential = (value as string).trim();
  if (credential.length === 0 || credential.length > MAX_VALUE_LENGTH || !TOKEN_CHARACTERS.test(credential)) {
    throw new BrokerError('secret_format', 'value is empty, too long or not printable ASCII without spaces');
  }
  if (kind === 'codex_access_token' && !credential.startsWith('at-')) {
    throw new BrokerError('secret_format', 'codex_access_token value does not start with "at-"');
  }
  return credential;
}
