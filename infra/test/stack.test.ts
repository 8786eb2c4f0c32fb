/**
 * Least privilege, checked on the synthesized CloudFormation template: the broker's IAM user may read exactly
 * the policy's secrets and nothing else, the rotation role may write exactly those secrets, nothing anywhere
 * is granted with a wildcard, and no secret value (or access key) ever appears in the template.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { App } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp, INFRA_DIR } from '../lib/app.ts';
import {
  BROKER_KMS_ACTIONS,
  BROKER_SECRET_ACTIONS,
  ROTATION_KMS_ACTIONS,
  ROTATION_SECRET_ACTIONS,
  TokenBrokerStack,
} from '../lib/token-broker-stack.ts';
import {
  allStatements,
  asList,
  findKeys,
  properties,
  policyStatements,
  render,
  resources,
  SECRET_VALUE_KEYS,
  sortedStrings,
  synth,
  wildcardFindings,
  writePolicy,
  type Json,
  type JsonObject,
} from './support/template.ts';

const REPO_POLICY = join(INFRA_DIR, '..', 'policy', 'policy.json');
const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const EXISTING_ARN = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:shared/openai-key-AbC123';

/** The secret ids of the repo's policy, read independently of the code under test. */
function repoSecretIds(): string[] {
  const policy = JSON.parse(readFileSync(REPO_POLICY, 'utf8')) as {
    credentials: Record<string, { secret: { id: string }; description?: string }>;
  };
  return [...new Set(Object.values(policy.credentials).map((credential) => credential.secret.id))];
}

/** Logical ids of the created secrets, by secret name. */
function secretsByName(json: JsonObject): Map<string, string> {
  return new Map(
    Object.entries(resources(json, 'AWS::SecretsManager::Secret')).map(([id, resource]) => [properties(resource).Name as string, id]),
  );
}

/** The one managed policy attached to the broker user, checking that nothing else is attached to it. */
function brokerPolicy(json: JsonObject): JsonObject {
  const users = Object.values(resources(json, 'AWS::IAM::User'));
  expect(users).toHaveLength(1);
  const user = properties(users[0]!);
  const attached = asList(user.ManagedPolicyArns);
  expect(attached).toHaveLength(1);
  const ref = (attached[0] as JsonObject).Ref as string;
  // The boundary is the same document: whatever is attached later, the user can do no more than this.
  expect(user.PermissionsBoundary).toEqual({ Ref: ref });
  expect(user.Policies).toBeUndefined();
  expect(user.Groups).toBeUndefined();
  expect(user.LoginProfile).toBeUndefined();
  return (json.Resources as Record<string, JsonObject>)[ref]!;
}

function rotationRole(json: JsonObject): { role: JsonObject; policy: JsonObject } {
  const roles = Object.values(resources(json, 'AWS::IAM::Role'));
  expect(roles).toHaveLength(1);
  const role = properties(roles[0]!);
  const attached = asList(role.ManagedPolicyArns);
  expect(attached).toHaveLength(1);
  const ref = (attached[0] as JsonObject).Ref as string;
  expect(role.PermissionsBoundary).toEqual({ Ref: ref });
  expect(role.Policies).toBeUndefined();
  return { role, policy: (json.Resources as Record<string, JsonObject>)[ref]! };
}

/** Checks that no identity policy other than the two managed policies grants anything to anyone. */
function expectOnlyTheTwoManagedPolicies(json: JsonObject): void {
  expect(Object.keys(resources(json, 'AWS::IAM::ManagedPolicy'))).toHaveLength(2);
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::Group', 'AWS::IAM::UserToGroupAddition', 'AWS::IAM::AccessKey']) {
    expect(resources(json, type), type).toEqual({});
  }
}

describe('with the repo policy (policy/policy.json)', () => {
  const { json } = synth({ policyFile: REPO_POLICY });
  const byName = secretsByName(json);
  const secretRefs = repoSecretIds().map((id) => ({ Ref: byName.get(id)! }));

  it('creates exactly one secret per secret.id in the policy, with its name and description', () => {
    expect([...byName.keys()].sort()).toEqual(repoSecretIds().sort());
    const policy = JSON.parse(readFileSync(REPO_POLICY, 'utf8')) as {
      credentials: Record<string, { secret: { id: string }; description?: string }>;
    };
    for (const credential of Object.values(policy.credentials)) {
      const secret = properties((json.Resources as Record<string, JsonObject>)[byName.get(credential.secret.id)!]!);
      if (credential.description !== undefined) expect(secret.Description).toContain(credential.description);
    }
  });

  it('puts no secret value anywhere in the template', () => {
    expect(findKeys(json, SECRET_VALUE_KEYS)).toEqual([]);
    for (const secret of Object.values(resources(json, 'AWS::SecretsManager::Secret'))) {
      expect(Object.keys(properties(secret)).sort()).toEqual(['Description', 'Name']);
    }
  });

  it('keeps the secrets when they leave the stack', () => {
    for (const secret of Object.values(resources(json, 'AWS::SecretsManager::Secret'))) {
      expect(secret.DeletionPolicy).toBe('Retain');
      expect(secret.UpdateReplacePolicy).toBe('Retain');
    }
  });

  it('grants the broker user exactly GetSecretValue and DescribeSecret on exactly the secrets', () => {
    const statements = policyStatements(brokerPolicy(json));
    expect(statements).toHaveLength(1);
    const [statement] = statements as [JsonObject];
    expect(statement.Effect).toBe('Allow');
    expect(statement.Condition).toBeUndefined();
    expect(sortedStrings(asList(statement.Action))).toEqual(
      ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
    );
    expect([...BROKER_SECRET_ACTIONS].sort()).toEqual(sortedStrings(asList(statement.Action)));
    expect(sortedStrings(asList(statement.Resource))).toEqual(sortedStrings(secretRefs));
  });

  it('grants the rotation role exactly the rotation actions on exactly the secrets, assumable by the account only', () => {
    const { role, policy } = rotationRole(json);
    const statements = policyStatements(policy);
    expect(statements).toHaveLength(1);
    const [statement] = statements as [JsonObject];
    expect(statement.Effect).toBe('Allow');
    expect(sortedStrings(asList(statement.Action))).toEqual(
      [
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:ListSecretVersionIds',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
      ],
    );
    expect([...ROTATION_SECRET_ACTIONS].sort()).toEqual(sortedStrings(asList(statement.Action)));
    expect(sortedStrings(asList(statement.Resource))).toEqual(sortedStrings(secretRefs));

    const trust = asList((role.AssumeRolePolicyDocument as JsonObject).Statement) as JsonObject[];
    expect(trust).toHaveLength(1);
    expect(trust[0]!.Action).toBe('sts:AssumeRole');
    expect(render(trust[0]!.Principal!, { 'AWS::Partition': 'aws', 'AWS::AccountId': '111122223333' })).toEqual({
      AWS: 'arn:aws:iam::111122223333:root',
    });
  });

  it('has no wildcard (or Not*) in any action, resource or principal of any statement', () => {
    expect(allStatements(json).length).toBeGreaterThanOrEqual(3);
    expect(wildcardFindings(json)).toEqual([]);
  });

  it('grants no KMS permission and names no key without a customer-managed key', () => {
    const actions = allStatements(json).flatMap(({ statement }) => sortedStrings(asList(statement.Action)));
    expect(actions.filter((action) => action.startsWith('kms:'))).toEqual([]);
    expect(findKeys(json, ['KmsKeyId'])).toEqual([]);
  });

  it('creates no access key, and outputs nothing secret', () => {
    expectOnlyTheTwoManagedPolicies(json);
    const outputs = JSON.stringify(json.Outputs ?? {});
    expect(outputs).not.toMatch(/SecretAccessKey|AccessKey/);
    expect(Object.keys(json.Outputs as JsonObject)).toEqual(
      expect.arrayContaining(['BrokerUserName', 'BrokerUserArn', 'RotationRoleArn']),
    );
  });
});

describe('with a customer-managed KMS key', () => {
  const policyFile = writePolicy({
    codex: { kind: 'codex_access_token', description: 'Codex', secret: { id: 'token-broker/codex', json_key: 'access_token' }, allow: [] },
    api: { kind: 'api_key', secret: { id: 'token-broker/api' }, allow: [] },
  });
  const { json } = synth({ policyFile, kmsKeyArn: KEY_ARN });
  const byName = secretsByName(json);
  const secretRefs = sortedStrings([{ Ref: byName.get('token-broker/codex')! }, { Ref: byName.get('token-broker/api')! }]);

  function kmsStatementOf(policy: JsonObject): JsonObject {
    const kms = policyStatements(policy).filter((statement) => sortedStrings(asList(statement.Action)).some((a) => a.startsWith('kms:')));
    expect(kms).toHaveLength(1);
    return kms[0]!;
  }

  function expectViaSecretsManagerForTheseSecrets(statement: JsonObject): void {
    expect(statement.Effect).toBe('Allow');
    expect(asList(statement.Resource)).toEqual([KEY_ARN]);
    const condition = statement.Condition as JsonObject;
    expect(Object.keys(condition)).toEqual(['StringEquals']);
    const equals = condition.StringEquals as JsonObject;
    expect(render(equals['kms:ViaService']!)).toBe('secretsmanager.us-east-1.amazonaws.com');
    expect(sortedStrings(asList(equals['kms:EncryptionContext:SecretARN']))).toEqual(secretRefs);
  }

  it('encrypts the created secrets with the key', () => {
    for (const secret of Object.values(resources(json, 'AWS::SecretsManager::Secret'))) {
      expect(properties(secret).KmsKeyId).toBe(KEY_ARN);
    }
  });

  it('adds kms:Decrypt for the broker, only through Secrets Manager and only for these secrets', () => {
    const policy = brokerPolicy(json);
    expect(policyStatements(policy)).toHaveLength(2);
    const kms = kmsStatementOf(policy);
    expect(asList(kms.Action)).toEqual([...BROKER_KMS_ACTIONS]);
    expect(asList(kms.Action)).toEqual(['kms:Decrypt']);
    expectViaSecretsManagerForTheseSecrets(kms);
    // The secrets statement is unchanged.
    const secretsStatement = policyStatements(policy).find((statement) => statement !== kms)!;
    expect(sortedStrings(asList(secretsStatement.Action))).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    expect(sortedStrings(asList(secretsStatement.Resource))).toEqual(secretRefs);
  });

  it('adds kms:Decrypt and kms:GenerateDataKey for rotation, under the same conditions', () => {
    const { policy } = rotationRole(json);
    expect(policyStatements(policy)).toHaveLength(2);
    const kms = kmsStatementOf(policy);
    expect(sortedStrings(asList(kms.Action))).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(sortedStrings(asList(kms.Action))).toEqual([...ROTATION_KMS_ACTIONS].sort());
    expectViaSecretsManagerForTheseSecrets(kms);
  });

  it('still has no wildcard anywhere', () => {
    expect(wildcardFindings(json)).toEqual([]);
  });

  it('takes kms:ViaService from the key region', () => {
    const otherKey = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const { json: other } = synth({ policyFile, kmsKeyArn: otherKey });
    const equals = (kmsStatementOf(brokerPolicy(other)).Condition as JsonObject).StringEquals as JsonObject;
    expect(render(equals['kms:ViaService']!)).toBe('secretsmanager.eu-west-1.amazonaws.com');
  });

  it('refuses an alias, a malformed key ARN, and a key in another region than a pinned stack', () => {
    expect(() => synth({ policyFile, kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:alias/token-broker' })).toThrow(/not a KMS key ARN/);
    expect(() => synth({ policyFile, kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/*' })).toThrow(/not a KMS key ARN/);
    expect(() => synth({ policyFile, kmsKeyArn: KEY_ARN, env: { region: 'eu-west-1' } })).toThrow(/us-east-1.*eu-west-1/);
  });
});

describe('secrets referenced by ARN', () => {
  const policyFile = writePolicy({
    codex: { kind: 'codex_access_token', secret: { id: 'token-broker/codex', json_key: 'access_token' }, allow: [] },
    shared: { kind: 'api_key', description: 'A key another team owns', secret: { id: EXISTING_ARN }, allow: [] },
  });
  const { json } = synth({ policyFile });

  it('creates only the named secret, and grants the existing one by its complete ARN', () => {
    const byName = secretsByName(json);
    expect([...byName.keys()]).toEqual(['token-broker/codex']);
    const expected = sortedStrings([{ Ref: byName.get('token-broker/codex')! }, EXISTING_ARN]);
    expect(sortedStrings(asList(policyStatements(brokerPolicy(json))[0]!.Resource))).toEqual(expected);
    expect(sortedStrings(asList(policyStatements(rotationRole(json).policy)[0]!.Resource))).toEqual(expected);
    expect(wildcardFindings(json)).toEqual([]);
  });

  it('refuses a partial ARN (it could only be granted with a wildcard)', () => {
    const partial = writePolicy({
      shared: { kind: 'api_key', secret: { id: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:shared/openai-key' }, allow: [] },
    });
    expect(() => synth({ policyFile: partial })).toThrow(/not a complete secret ARN/);
  });
});

describe('rotation trust', () => {
  const policyFile = writePolicy({ api: { kind: 'api_key', secret: { id: 'token-broker/api' }, allow: [] } });

  it('trusts exactly the configured principals', () => {
    const sso = 'arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Platform_0123456789abcdef';
    const { json } = synth({ policyFile, rotationTrustedPrincipalArns: [sso] });
    const trust = asList((rotationRole(json).role.AssumeRolePolicyDocument as JsonObject).Statement) as JsonObject[];
    expect(trust).toHaveLength(1);
    expect(trust[0]!.Principal).toEqual({ AWS: sso });
  });

  it('refuses a wildcard or non-IAM principal', () => {
    expect(() => synth({ policyFile, rotationTrustedPrincipalArns: ['arn:aws:iam::111122223333:role/*'] })).toThrow(/not an IAM/);
    expect(() => synth({ policyFile, rotationTrustedPrincipalArns: ['*'] })).toThrow(/not an IAM/);
  });
});

describe('the app (bin/app.ts) and its context', () => {
  it('defaults to ../policy/policy.json and the stack name TokenBroker, environment-agnostic', () => {
    const { stack } = buildApp();
    expect(stack.stackName).toBe('TokenBroker');
    expect(stack.secrets.map((secret) => (secret.spec.type === 'name' ? secret.spec.name : secret.spec.arn)).sort()).toEqual(
      repoSecretIds().sort(),
    );
    const json = Template.fromStack(stack).toJSON() as JsonObject;
    expect(wildcardFindings(json)).toEqual([]);
  });

  it('reads another policy file from context (absolute, or relative to infra/)', () => {
    const file = writePolicy({ other: { kind: 'api_key', secret: { id: 'elsewhere/other' }, allow: [] } });
    for (const policyFile of [file, relative(INFRA_DIR, file)]) {
      const { stack } = buildApp({ context: { policyFile } });
      const json = Template.fromStack(stack).toJSON() as JsonObject;
      expect([...secretsByName(json).keys()]).toEqual(['elsewhere/other']);
    }
  });

  it('takes the key, the trusted principals, names and environment from context', () => {
    const { stack } = buildApp({
      context: {
        kmsKeyArn: KEY_ARN,
        rotationTrustedPrincipals: 'arn:aws:iam::111122223333:role/PlatformA, arn:aws:iam::111122223333:role/PlatformB',
        brokerUserName: 'token-broker-worker',
        rotationRoleName: 'token-broker-rotation',
        stackName: 'TokenBrokerStaging',
        region: 'us-east-1',
        account: '111122223333',
      },
    });
    expect(stack.stackName).toBe('TokenBrokerStaging');
    expect(stack.region).toBe('us-east-1');
    const json = Template.fromStack(stack).toJSON() as JsonObject;
    const user = properties(Object.values(resources(json, 'AWS::IAM::User'))[0]!);
    expect(user.UserName).toBe('token-broker-worker');
    const { role } = rotationRole(json);
    expect(role.RoleName).toBe('token-broker-rotation');
    const trust = asList((role.AssumeRolePolicyDocument as JsonObject).Statement) as JsonObject[];
    expect(trust.map((statement) => statement.Action)).toEqual(trust.map(() => 'sts:AssumeRole'));
    expect(sortedStrings(trust.flatMap((statement) => asList((statement.Principal as JsonObject).AWS)))).toEqual([
      'arn:aws:iam::111122223333:role/PlatformA',
      'arn:aws:iam::111122223333:role/PlatformB',
    ]);
    expect(findKeys(json, ['KmsKeyId'])).not.toEqual([]);
    expect(wildcardFindings(json)).toEqual([]);
  });
});

describe('the wildcard check itself', () => {
  // The least-privilege tests are only as good as this scan: prove it sees each way of granting too much.
  const base = (statement: JsonObject): Json => ({
    Resources: { P: { Type: 'AWS::IAM::ManagedPolicy', Properties: { PolicyDocument: { Statement: [statement] } } } },
  });

  it('finds a wildcard action, resource or principal, literal or inside an intrinsic', () => {
    expect(wildcardFindings(base({ Effect: 'Allow', Action: 'secretsmanager:*', Resource: 'arn:x' }))).toHaveLength(1);
    expect(wildcardFindings(base({ Effect: 'Allow', Action: ['secretsmanager:Get*'], Resource: 'arn:x' }))).toHaveLength(1);
    expect(wildcardFindings(base({ Effect: 'Allow', Action: 'a:b', Resource: '*' }))).toHaveLength(1);
    expect(
      wildcardFindings(base({ Effect: 'Allow', Action: 'a:b', Resource: { 'Fn::Join': ['', ['arn:aws:secretsmanager:', { Ref: 'AWS::Region' }, ':*']] } })),
    ).toHaveLength(1);
    expect(wildcardFindings(base({ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: '*' } }))).toHaveLength(1);
    expect(wildcardFindings(base({ Effect: 'Allow', Action: 'a:b', Resource: 'arn:x:secret:name-??????' }))).toHaveLength(1);
  });

  it('finds NotAction / NotResource / NotPrincipal', () => {
    expect(wildcardFindings(base({ Effect: 'Allow', NotAction: 'iam:CreateUser', Resource: 'arn:x' }))).toHaveLength(1);
    expect(wildcardFindings(base({ Effect: 'Allow', Action: 'a:b', NotResource: 'arn:x' }))).toHaveLength(1);
  });

  it('finds statements nested anywhere (inline policies, trust policies, resource policies)', () => {
    const nested: Json = {
      Resources: {
        R: { Type: 'AWS::IAM::Role', Properties: { Policies: [{ PolicyDocument: { Statement: { Effect: 'Allow', Action: '*', Resource: 'arn:x' } } }] } },
        S: { Type: 'AWS::SecretsManager::ResourcePolicy', Properties: { ResourcePolicy: { Statement: [{ Effect: 'Allow', Action: 'a:b', Resource: '*' }] } } },
      },
    };
    expect(wildcardFindings(nested)).toHaveLength(2);
  });

  it('sees a wildcard that a grant would add to the real stack', () => {
    const app = new App();
    const stack = new TokenBrokerStack(app, 'Widened', { policyFile: REPO_POLICY });
    // What a careless `addToPolicy` (or a grant on a partial ARN) would do.
    stack.rotationPolicy.addStatements(new PolicyStatement({ actions: ['secretsmanager:ListSecrets'], resources: ['*'] }));
    const findings = wildcardFindings(Template.fromStack(stack).toJSON() as JsonObject);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatch(/Resource: "\*"/);
  });
});
