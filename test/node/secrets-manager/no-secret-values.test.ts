/**
 * Canary: secret values must never appear in the server's log lines, in error messages, or on the console,
 * whatever path a request takes (success, AWS errors, bad input, faults, control endpoints).
 */
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ADMIN, READER, clientFor, hex32, rejection, signedFetch, startServer } from './helpers.ts';

const CANARY = 'CANARY-5e3b9c';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('secret values stay out of logs and errors', () => {
  it('across successes, AWS errors, malformed input, faults and control calls', async () => {
    const consoleSpies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) =>
      vi.spyOn(console, m).mockImplementation(() => {}),
    );
    const lines: string[] = [];
    const server = await startServer({
      log: (line) => lines.push(line),
      secrets: [{ name: 'app/db', secretString: `${CANARY}-seed`, versionId: hex32(1) }],
    });
    const admin = clientFor(server);
    const reader = clientFor(server, READER);
    const texts: string[] = [];
    const collect = async (p: Promise<unknown>) => {
      const err = await rejection(p);
      texts.push(err.name, err.message, JSON.stringify(err));
    };

    expect((await admin.send(new GetSecretValueCommand({ SecretId: 'app/db' }))).SecretString).toBe(`${CANARY}-seed`);
    await admin.send(new PutSecretValueCommand({ SecretId: 'app/db', SecretString: `${CANARY}-2`, ClientRequestToken: hex32(2) }));
    await collect(admin.send(new PutSecretValueCommand({ SecretId: 'app/db', SecretString: `${CANARY}-3`, ClientRequestToken: hex32(2) })));
    await collect(admin.send(new PutSecretValueCommand({ SecretId: 'app/db', SecretString: `${CANARY}`.repeat(7000) })));
    await collect(admin.send(new CreateSecretCommand({ Name: 'app/db', SecretString: `${CANARY}-4` })));
    await collect(reader.send(new PutSecretValueCommand({ SecretId: 'app/db', SecretString: `${CANARY}-5` })));
    await collect(clientFor(server, { ...ADMIN, secretAccessKey: 'wrong' }).send(
      new PutSecretValueCommand({ SecretId: 'app/db', SecretString: `${CANARY}-6` }),
    ));

    const raw = async (body: unknown) => {
      const res = await signedFetch(server, { operation: 'PutSecretValue', body });
      texts.push(await res.text());
      return res.status;
    };
    expect(await raw(`{"SecretId":"app/db","SecretString":"${CANARY}-7"`)).toBe(400); // truncated JSON
    expect(await raw({ SecretId: { nested: `${CANARY}-8` }, SecretString: 'x' })).toBe(400);
    expect(await raw({ SecretId: 'app/db', SecretString: { v: `${CANARY}-9` } })).toBe(400);
    expect(await raw({ SecretId: 'app/db', SecretBinary: `${CANARY}-not-base64!` })).toBe(400);

    server.setFaults({ throttleRate: 1 });
    await collect(admin.send(new PutSecretValueCommand({ SecretId: 'app/db', SecretString: `${CANARY}-10` })));
    server.setFaults({ dropConnections: true });
    await collect(admin.send(new PutSecretValueCommand({ SecretId: 'app/db', SecretString: `${CANARY}-11` })));
    server.clearFaults();

    for (const body of [`{"name":"x","secretString":"${CANARY}-12"`, JSON.stringify({ name: 'bad name', secretString: `${CANARY}-13` })]) {
      const res = await fetch(`${server.url}/__control/secrets`, { method: 'POST', body });
      expect(res.status).toBe(400);
      texts.push(await res.text());
    }

    expect(lines.length).toBeGreaterThanOrEqual(10);
    expect(lines.some((l) => l.includes('PutSecretValue secret=app/db 200 ok'))).toBe(true);
    expect(lines.some((l) => l.includes('ResourceExistsException'))).toBe(true);
    for (const text of [...lines, ...texts]) expect(text).not.toContain(CANARY);
    for (const spy of consoleSpies) {
      for (const args of spy.mock.calls) expect(args.map(String).join(' ')).not.toContain(CANARY);
    }
  });
});
