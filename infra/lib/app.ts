/**
 * Builds the CDK app from context, so `cdk synth -c policyFile=…` and the tests configure it the same way.
 *
 * Context (all optional; `-c key=value` on the command line, or "context" in cdk.json):
 *   policyFile                 the broker's policy file, relative to infra/ (default ../policy/policy.json)
 *   kmsKeyArn                  customer-managed KMS key ARN that encrypts the secrets (default: none, AWS-managed key)
 *   rotationTrustedPrincipals  comma-separated role/user ARNs that may assume the rotation role (default: the account)
 *   brokerUserName             fixed name for the broker's IAM user (default: generated)
 *   rotationRoleName           fixed name for the rotation role (default: generated)
 *   stackName                  CloudFormation stack name (default TokenBroker)
 *   account, region            pin the stack's environment (default: environment-agnostic, deploys where the
 *                              AWS profile points; synth needs no AWS credentials either way)
 */
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, type AppProps } from 'aws-cdk-lib';
import { TokenBrokerStack } from './token-broker-stack.ts';

/** The infra/ folder: relative paths in context are relative to it, wherever the command runs. */
export const INFRA_DIR = fileURLToPath(new URL('..', import.meta.url));
export const DEFAULT_POLICY_FILE = '../policy/policy.json';
export const DEFAULT_STACK_NAME = 'TokenBroker';

function contextString(app: App, key: string): string | undefined {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new Error(`context "${key}" must be a string`);
  return value;
}

function contextList(app: App, key: string): string[] | undefined {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : undefined;
  if (items === undefined || !items.every((item) => typeof item === 'string')) {
    throw new Error(`context "${key}" must be a comma-separated string or a list of strings`);
  }
  const list = (items as string[]).map((item) => item.trim()).filter((item) => item !== '');
  return list.length === 0 ? undefined : list;
}

export function buildApp(props: AppProps = {}): { app: App; stack: TokenBrokerStack } {
  const app = new App(props);
  const policyFile = contextString(app, 'policyFile') ?? DEFAULT_POLICY_FILE;
  const account = contextString(app, 'account');
  const region = contextString(app, 'region');
  const kmsKeyArn = contextString(app, 'kmsKeyArn');
  const rotationTrustedPrincipalArns = contextList(app, 'rotationTrustedPrincipals');
  const brokerUserName = contextString(app, 'brokerUserName');
  const rotationRoleName = contextString(app, 'rotationRoleName');

  const stack = new TokenBrokerStack(app, contextString(app, 'stackName') ?? DEFAULT_STACK_NAME, {
    description: 'token-broker: credential secrets, the broker IAM user (read-only), the rotation role',
    policyFile: isAbsolute(policyFile) ? policyFile : resolve(INFRA_DIR, policyFile),
    ...(account === undefined && region === undefined
      ? {}
      : { env: { ...(account === undefined ? {} : { account }), ...(region === undefined ? {} : { region }) } }),
    ...(kmsKeyArn === undefined ? {} : { kmsKeyArn }),
    ...(rotationTrustedPrincipalArns === undefined ? {} : { rotationTrustedPrincipalArns }),
    ...(brokerUserName === undefined ? {} : { brokerUserName }),
    ...(rotationRoleName === undefined ? {} : { rotationRoleName }),
    tags: { project: 'token-broker' },
  });
  return { app, stack };
}
