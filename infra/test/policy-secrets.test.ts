/** Reading the secret list from the broker's policy file. */
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PolicyFileError, policySecrets, readPolicySecrets } from '../lib/policy-secrets.ts';
import { resources, properties, synth, writePolicy } from './support/template.ts';

describe('policySecrets', () => {
  it('lists one secret per distinct secret.id, in policy order, with the credentials that use it', () => {
    const specs = policySecrets({
      credentials: {
        codex: { kind: 'codex_access_token', description: 'Codex token', secret: { id: 'tb/codex', json_key: 'access_token' } },
        'codex-backup': { kind: 'codex_access_token', secret: { id: 'tb/codex', json_key: 'backup_token' } },
        api: { kind: 'api_key', secret: { id: 'tb/api' } },
      },
    });
    expect(specs.map((spec) => (spec.type === 'name' ? spec.name : spec.arn))).toEqual(['tb/codex', 'tb/api']);
    expect(specs[0]!.credentials.map((credential) => credential.name)).toEqual(['codex', 'codex-backup']);
    expect(specs[0]!.credentials[0]).toEqual({ name: 'codex', kind: 'codex_access_token', description: 'Codex token', jsonKey: 'access_token' });
    const [shared, api] = specs;
    expect(shared!.type === 'name' && shared!.description).toBe(
      'codex: Codex token | codex-backup: token-broker credential "codex-backup" (codex_access_token)',
    );
    expect(api!.type === 'name' && api!.description).toBe('token-broker credential "api" (api_key)');
  });

  it('creates one secret for two credentials that share it', () => {
    const policyFile = writePolicy({
      a: { kind: 'api_key', secret: { id: 'tb/shared', json_key: 'a' }, allow: [] },
      b: { kind: 'api_key', secret: { id: 'tb/shared', json_key: 'b' }, allow: [] },
    });
    const { json } = synth({ policyFile });
    const secrets = Object.values(resources(json, 'AWS::SecretsManager::Secret'));
    expect(secrets.map((secret) => properties(secret).Name)).toEqual(['tb/shared']);
  });

  it('ignores the sections the infrastructure does not use', () => {
    expect(
      policySecrets({ version: 1, issuers: { x: {} }, admin: { allow: [] }, credentials: { a: { kind: 'api_key', secret: { id: 'a' }, allow: [], max_uses: 3 } } }),
    ).toHaveLength(1);
  });

  it.each([
    ['not an object', [], /must be a JSON object/],
    ['no credentials', { version: 1 }, /"credentials" must be an object/],
    ['empty credentials', { credentials: {} }, /"credentials" is empty/],
    ['unknown kind', { credentials: { a: { kind: 'password', secret: { id: 'a' } } } }, /credentials\.a\.kind must be one of/],
    ['missing secret', { credentials: { a: { kind: 'api_key' } } }, /credentials\.a\.secret must be an object/],
    ['empty secret id', { credentials: { a: { kind: 'api_key', secret: { id: '' } } } }, /credentials\.a\.secret\.id must be a non-empty string/],
    ['bad secret name', { credentials: { a: { kind: 'api_key', secret: { id: 'has space' } } } }, /not a valid secret name/],
    ['wildcard secret name', { credentials: { a: { kind: 'api_key', secret: { id: 'tb/*' } } } }, /not a valid secret name/],
    [
      'wildcard in an ARN',
      { credentials: { a: { kind: 'api_key', secret: { id: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:tb/*' } } } },
      /not a complete secret ARN/,
    ],
    ['non-string description', { credentials: { a: { kind: 'api_key', description: 3, secret: { id: 'a' } } } }, /description must be a string/],
  ])('refuses %s', (_, document, message) => {
    expect(() => policySecrets(document, 'p.json')).toThrow(PolicyFileError);
    expect(() => policySecrets(document, 'p.json')).toThrow(message);
  });

  it('accepts complete ARNs in other partitions', () => {
    const arn = 'arn:aws-us-gov:secretsmanager:us-gov-west-1:111122223333:secret:tb/api-a1B2c3';
    expect(policySecrets({ credentials: { a: { kind: 'api_key', secret: { id: arn } } } })).toEqual([
      { type: 'arn', arn, credentials: [{ name: 'a', kind: 'api_key' }] },
    ]);
  });
});

describe('readPolicySecrets', () => {
  it('names the file when it is missing or not JSON', () => {
    expect(() => readPolicySecrets('/nonexistent/policy.json')).toThrow(/\/nonexistent\/policy\.json: cannot read/);
    const file = writePolicy({});
    writeFileSync(file, '{ not json');
    expect(() => readPolicySecrets(file)).toThrow(/not valid JSON/);
  });
});
