/**
 * What every drill shares: its context (the running broker, the Secrets Manager server, the leak scanner,
 * the client) and its result (counts for the table, named checks, and the first request that broke it).
 */
import type { RunningSecretsManagerServer } from '../dev/secrets-manager/server.ts';
import type { Broker, StartBrokerOptions } from '../bench/harness.ts';
import { mintSandboxToken } from '../src/sdk/mint-sandbox-token.ts';
import { BENCH_AUDIENCE, BENCH_ISSUER } from '../bench/world.ts';
import type { DrillClient, DrillRequest } from './client.ts';
import type { LeakScanner } from './leak-scanner.ts';
import type { DrillWorld } from './world.ts';

export interface DrillContext {
  world: DrillWorld;
  /** The broker most drills run against (the drill bundle, 4 shards); the restart drill starts its own. */
  broker: Broker;
  client: DrillClient;
  scriptPath: string;
  secretsManager: RunningSecretsManagerServer;
  scanner: LeakScanner;
  /** A scratch folder for exports and persisted state. */
  dir: string;
  /** 1 for the real drills; smaller for a smoke run (DRILL_SCALE). Request counts are multiplied by it. */
  scale: number;
  /** Starts another broker on the same world, bundle and Secrets Manager server, its output scanned. */
  startBroker(options?: Partial<StartBrokerOptions>): Promise<Broker>;
  /** The rate limits the broker runs with: wrangler.toml's, as deployed. */
  rateLimits: { sandbox: number; invalidToken: number };
  /** Rotator's AWS keys (the platform team's identity for `token-broker rotate`). */
  rotator: { accessKeyId: string; secretAccessKey: string };
}

export interface Check {
  name: string;
  pass: boolean;
  detail: string;
  /** The first request that broke this check, described (see client.describe). */
  firstFailure?: string;
}

export interface DrillResult {
  id: number;
  name: string;
  pass: boolean;
  /** Shown in the table, e.g. { requests: 2000, "200": 2000, "p99 ms": 41 }. */
  counts: Record<string, number | string>;
  checks: Check[];
  durationMs: number;
}

export interface Drill {
  id: number;
  name: string;
  run(context: DrillContext): Promise<Omit<DrillResult, 'id' | 'name' | 'pass' | 'durationMs'>>;
}

export function check(name: string, pass: boolean, detail: string, firstFailure?: string): Check {
  return { name, pass, detail, ...(pass || firstFailure === undefined ? {} : { firstFailure }) };
}

export function scaled(context: DrillContext, count: number): number {
  return Math.max(1, Math.round(count * context.scale));
}

/**
 * Fresh single-use sandbox tokens, one sandbox id each (`${prefix}-${i}`), minted before the clock starts.
 * Sandboxes sit behind NAT, as on a real platform: `clientIp(i)` is the address the broker sees
 * (CF-Connecting-IP); by default every sandbox of a drill shares one.
 */
export async function mintSandboxes(
  context: DrillContext,
  count: number,
  prefix: string,
  credential = 'codex',
  clientIp: (i: number) => string = () => NAT_ADDRESS,
): Promise<DrillRequest[]> {
  const requests: DrillRequest[] = [];
  for (let start = 0; start < count; start += 256) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(256, count - start) }, async (_, j) => {
        const subject = `${prefix}-${start + j}`;
        const token = await mintSandboxToken({
          privateJwk: context.world.keys.es256,
          issuer: BENCH_ISSUER,
          audience: BENCH_AUDIENCE,
          subject,
          lifetimeSeconds: 600,
        });
        return issueRequest(token, credential, subject, clientIp(start + j));
      }),
    );
    requests.push(...batch);
  }
  return requests;
}

/** The platform's egress address that the sandboxes share (TEST-NET-1). */
export const NAT_ADDRESS = '192.0.2.10';

export function issueRequest(token: string, credential: string, label: string, clientIp = NAT_ADDRESS): DrillRequest {
  return { label, path: `/v1/credentials/${credential}`, headers: { Authorization: `Bearer ${token}`, 'CF-Connecting-IP': clientIp }, token };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
