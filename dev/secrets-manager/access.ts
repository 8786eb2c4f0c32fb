/**
 * Identity-based allow lists: a principal may call an action on a secret only if both are listed.
 * Checked before the secret is looked up, so callers without access learn nothing about which secrets
 * exist (AccessDeniedException, not ResourceNotFoundException), as with IAM.
 */
import { accessDenied } from './errors.ts';
import type { Principal } from './types.ts';

export class AccessPolicy {
  private readonly byKey = new Map<string, Principal>();

  constructor(principals: Principal[], private readonly accountId: string) {
    for (const p of principals) this.byKey.set(p.accessKeyId, p);
  }

  secretKeyOf(accessKeyId: string): string | undefined {
    return this.byKey.get(accessKeyId)?.secretAccessKey;
  }

  authorize(accessKeyId: string, action: string, secretName: string): void {
    const allow = this.byKey.get(accessKeyId)?.allow;
    const actionOk = allow?.actions.some((pattern) => globMatch(pattern.replace(/^secretsmanager:/, ''), action)) ?? false;
    const secretOk = allow?.secrets.some((pattern) => globMatch(pattern, secretName)) ?? false;
    if (!actionOk || !secretOk) {
      throw accessDenied(`arn:aws:iam::${this.accountId}:user/${accessKeyId}`, action, secretName);
    }
  }
}

/** "*" matches any run of characters; everything else is literal. */
export function globMatch(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  const source = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${source}$`, 's').test(value);
}
