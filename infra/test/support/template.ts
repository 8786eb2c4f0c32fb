/** Helpers for the infra tests: synthesize the stack from a policy, and walk the template. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { TokenBrokerStack, type TokenBrokerStackProps } from '../../lib/token-broker-stack.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Writes a policy with these credentials (the other sections do not matter to the infrastructure). */
export function writePolicy(credentials: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'tb-infra-policy-'));
  const file = join(dir, 'policy.json');
  writeFileSync(file, JSON.stringify({ version: 1, issuers: {}, credentials }, null, 2));
  return file;
}

export function synth(props: TokenBrokerStackProps): { stack: TokenBrokerStack; template: Template; json: JsonObject } {
  const app = new App();
  const stack = new TokenBrokerStack(app, 'TestTokenBroker', props);
  const template = Template.fromStack(stack);
  return { stack, template, json: template.toJSON() as JsonObject };
}

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asList(value: Json | undefined): Json[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** Every policy statement anywhere in the template (identity policies, trust policies, key and resource policies). */
export function allStatements(node: Json, path = ''): { path: string; statement: JsonObject }[] {
  const found: { path: string; statement: JsonObject }[] = [];
  if (Array.isArray(node)) {
    node.forEach((item, index) => found.push(...allStatements(item, `${path}[${index}]`)));
  } else if (isObject(node)) {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'Statement') {
        asList(value).forEach((statement, index) => {
          if (isObject(statement)) found.push({ path: `${path}.Statement[${index}]`, statement });
        });
      }
      found.push(...allStatements(value, `${path}.${key}`));
    }
  }
  return found;
}

/**
 * Everything in a template's policy statements that is broader than a named action or resource: a `*` or `?`
 * anywhere in an Action, Resource or Principal (literal or inside an intrinsic function), and any NotAction,
 * NotResource or NotPrincipal (which grant everything except what they name).
 */
export function wildcardFindings(template: Json): string[] {
  const findings: string[] = [];
  for (const { path, statement } of allStatements(template)) {
    for (const key of ['NotAction', 'NotResource', 'NotPrincipal']) {
      if (key in statement) findings.push(`${path}: uses ${key}`);
    }
    for (const key of ['Action', 'Resource', 'Principal']) {
      if (!(key in statement)) continue;
      const text = JSON.stringify(statement[key]);
      if (/[*?]/.test(text)) findings.push(`${path}.${key}: ${text}`);
    }
  }
  return findings;
}

/** Keys anywhere in the template that would carry a secret's value. */
export const SECRET_VALUE_KEYS = ['SecretString', 'GenerateSecretString', 'SecretBinary', 'SecretStringTemplate', 'SecretAccessKey'];

export function findKeys(node: Json, keys: readonly string[], path = ''): string[] {
  const found: string[] = [];
  if (Array.isArray(node)) node.forEach((item, index) => found.push(...findKeys(item, keys, `${path}[${index}]`)));
  else if (isObject(node)) {
    for (const [key, value] of Object.entries(node)) {
      if (keys.includes(key)) found.push(`${path}.${key}`);
      found.push(...findKeys(value, keys, `${path}.${key}`));
    }
  }
  return found;
}

/** Resolves the few intrinsics the stack uses (Ref of pseudo parameters, Fn::Join), for readable assertions. */
export function render(value: Json, pseudo: Record<string, string> = { 'AWS::URLSuffix': 'amazonaws.com', 'AWS::Partition': 'aws' }): Json {
  if (Array.isArray(value)) return value.map((item) => render(item, pseudo));
  if (!isObject(value)) return value;
  const ref = value.Ref;
  if (typeof ref === 'string' && Object.keys(value).length === 1 && ref in pseudo) return pseudo[ref]!;
  const join = value['Fn::Join'];
  if (Array.isArray(join) && Object.keys(value).length === 1) {
    const [separator, parts] = join;
    const rendered = asList(parts as Json).map((part) => render(part, pseudo));
    if (typeof separator === 'string' && rendered.every((part) => typeof part === 'string')) {
      return (rendered as string[]).join(separator);
    }
  }
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, render(item, pseudo)]));
}

/** The resources of one type, by logical id. */
export function resources(json: JsonObject, type: string): Record<string, JsonObject> {
  const all = (json.Resources ?? {}) as Record<string, JsonObject>;
  return Object.fromEntries(Object.entries(all).filter(([, resource]) => resource.Type === type));
}

export function properties(resource: JsonObject): JsonObject {
  return (resource.Properties ?? {}) as JsonObject;
}

/** The statements of the policy document of a managed policy resource. */
export function policyStatements(policy: JsonObject): JsonObject[] {
  const document = properties(policy).PolicyDocument as JsonObject;
  return asList(document.Statement) as JsonObject[];
}

export function sortedStrings(values: Json[]): string[] {
  return values.map((value) => (typeof value === 'string' ? value : JSON.stringify(value))).sort();
}
