/**
 * Rate limits, on Cloudflare's rate-limiting binding:
 *  - per sandbox (iss + sub), counted after the token verifies;
 *  - per client address for INVALID tokens: every token failure counts against the address, and once an
 *    address is over its limit, this isolate refuses its requests before any parsing or signature work
 *    until the period has passed. Valid traffic from a shared address (sandboxes behind one NAT) is not
 *    limited per address, only per sandbox.
 */
import { BrokerError, isTokenError } from '../errors.ts';

/** Both limiters use a 60 s period (wrangler.toml); clients are told to come back after it. */
export const RATE_LIMIT_PERIOD_SECONDS = 60;

export interface RateLimiter {
  limit(options: { key: string }): Promise<{ success: boolean }>;
}

export interface RateLimits {
  sandbox: RateLimiter | undefined;
  invalidToken: RateLimiter | undefined;
  blockedClients: BlockedClients;
}

/** In-isolate memory of addresses the invalid-token limiter refused, so their next requests cost nothing. */
export class BlockedClients {
  readonly #until = new Map<string, number>();
  static readonly MAX_ENTRIES = 10_000;

  isBlocked(client: string, now: number): boolean {
    const until = this.#until.get(client);
    if (until === undefined) return false;
    if (until > now) return true;
    this.#until.delete(client);
    return false;
  }

  block(client: string, until: number): void {
    // Bounded: under a flood from many addresses, forget the oldest rather than grow without limit.
    if (this.#until.size >= BlockedClients.MAX_ENTRIES) this.#until.delete(this.#until.keys().next().value!);
    this.#until.set(client, until);
  }
}

export async function checkSandboxLimit(limits: RateLimits, iss: string, sub: string): Promise<void> {
  if (!limits.sandbox) return;
  const { success } = await limits.sandbox.limit({ key: `${iss}\n${sub}` });
  if (!success) throw new BrokerError('rate_limited', 'sandbox over its request limit');
}

/** Refuses, before any token work, an address this isolate has cut off for invalid tokens. */
export function refuseBlockedClient(limits: RateLimits, client: string | null, now: number): void {
  if (client && limits.blockedClients.isBlocked(client, now)) throw new BrokerError('rate_limited', 'client blocked after repeated invalid tokens');
}

/**
 * After a request failed: counts a token that failed verification against its address and returns the
 * error to answer with (`rate_limited` once the address is over its limit). A token that verified and was
 * then refused (replayed, revoked) came from a trusted orchestrator and is limited per sandbox; counting it
 * per address would let one looping sandbox get every sandbox behind the same NAT refused (drill 2).
 */
export async function limitInvalidToken(
  limits: RateLimits,
  error: BrokerError,
  { tokenVerified, client, now }: { tokenVerified: boolean; client: string | null; now: number },
): Promise<BrokerError> {
  if (tokenVerified || !client || !isTokenError(error.code)) return error;
  if (!(await countInvalidToken(limits, client, now))) return error;
  return new BrokerError('rate_limited', `client over its invalid-token limit (last: ${error.code})`);
}

/** Counts a token failure against the client; true when the client is now over its limit. */
export async function countInvalidToken(limits: RateLimits, client: string, now: number): Promise<boolean> {
  if (!limits.invalidToken) return false;
  const { success } = await limits.invalidToken.limit({ key: client });
  if (success) return false;
  limits.blockedClients.block(client, now + RATE_LIMIT_PERIOD_SECONDS * 1000);
  return true;
}
