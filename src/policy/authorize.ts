/**
 * Decides whether verified claims grant a credential. Pure: no I/O, no configuration errors possible.
 * An unknown credential and a denied one are the same `forbidden`, so a sandbox cannot enumerate names.
 */
import { BrokerError } from '../errors.ts';
import type { CompiledCredential, CompiledPolicy, CompiledRule } from './compile.ts';

export type Claims = Readonly<Record<string, unknown>>;

export function authorize(policy: CompiledPolicy, credentialName: string, claims: Claims): CompiledCredential {
  const credential = policy.credentials.get(credentialName);
  if (!credential) throw new BrokerError('forbidden', 'credential not in policy');
  if (!credential.rules.some((rule) => ruleGrants(rule, claims))) {
    throw new BrokerError('forbidden', 'no rule matched');
  }
  return credential;
}

export function ruleGrants(rule: CompiledRule, claims: Claims): boolean {
  // Exact issuer match first: a token from one issuer can never satisfy another issuer's rules.
  if (claims.iss !== rule.iss) return false;
  return rule.matchers.every(([claim, glob]) => claimMatches(Object.hasOwn(claims, claim) ? claims[claim] : undefined, glob));
}

/** Strings match the glob; arrays match when any string element does; anything else never matches. */
function claimMatches(value: unknown, glob: (text: string) => boolean): boolean {
  if (typeof value === 'string') return glob(value);
  if (Array.isArray(value)) return value.some((item) => typeof item === 'string' && glob(item));
  return false;
}
