import { DescribeSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ADMIN, clientFor, rejection, signedFetch, startServer, waitFor } from './helpers.ts';

const secrets = [{ name: 'app/a', secretString: 'A' }];

describe('faults', () => {
  it('throttleRate 1 answers ThrottlingException (HTTP 400) and counts it as a fault', async () => {
    const server = await startServer({ secrets });
    server.setFaults({ throttleRate: 1 });
    const err = await rejection(clientFor(server).send(new GetSecretValueCommand({ SecretId: 'app/a' })));
    expect(err.name).toBe('ThrottlingException');
    expect(err.message).toBe('Rate exceeded');
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(server.calls({ operation: 'GetSecretValue', secretName: 'app/a', outcome: 'fault' })).toBe(1);
    expect(server.calls({ outcome: 'ok' })).toBe(0);
  });

  it('errorRate 1 answers InternalServiceError (HTTP 500), which the SDK retries up to maxAttempts', async () => {
    const server = await startServer({ secrets });
    server.setFaults({ errorRate: 1 });
    const err = await rejection(clientFor(server, ADMIN, { maxAttempts: 3 }).send(new GetSecretValueCommand({ SecretId: 'app/a' })));
    expect(err.name).toBe('InternalServiceError');
    expect(err.$metadata.httpStatusCode).toBe(500);
    expect(err.$metadata.attempts).toBe(3);
    expect(server.calls({ operation: 'GetSecretValue', outcome: 'fault' })).toBe(3);
  });

  it('draws from the injected random source: one draw per non-zero rate', async () => {
    const draws = [0.1, 0.9, 0.49, 0.5];
    const server = await startServer({ secrets, random: () => draws.shift() ?? 1 });
    server.setFaults({ throttleRate: 0.5 });
    const client = clientFor(server);
    const results: string[] = [];
    for (let i = 0; i < 4; i++) {
      results.push(
        await client.send(new GetSecretValueCommand({ SecretId: 'app/a' })).then(
          (out) => out.SecretString!,
          (err: Error) => err.name,
        ),
      );
    }
    expect(results).toEqual(['ThrottlingException', 'A', 'ThrottlingException', 'A']);
    expect(draws).toEqual([]);
  });

  it('limits faults to the listed operations', async () => {
    const server = await startServer({ secrets });
    server.setFaults({ throttleRate: 1, operations: ['GetSecretValue'] });
    const client = clientFor(server);
    expect((await client.send(new DescribeSecretCommand({ SecretId: 'app/a' }))).Name).toBe('app/a');
    expect((await rejection(client.send(new GetSecretValueCommand({ SecretId: 'app/a' })))).name).toBe('ThrottlingException');
    server.clearFaults();
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'app/a' }))).SecretString).toBe('A');
    expect(server.calls({ operation: 'DescribeSecret', outcome: 'ok' })).toBe(1);
    expect(server.calls({ operation: 'GetSecretValue', outcome: 'fault' })).toBe(1);
    expect(server.calls({ operation: 'GetSecretValue', outcome: 'ok' })).toBe(1);
    expect(server.calls()).toBe(3);
  });

  it('applies faults before auth: a throttled request with a bad signature is still throttled', async () => {
    const server = await startServer({ secrets });
    server.setFaults({ throttleRate: 1 });
    const err = await rejection(
      clientFor(server, { accessKeyId: ADMIN.accessKeyId, secretAccessKey: 'wrong' }).send(
        new GetSecretValueCommand({ SecretId: 'app/a' }),
      ),
    );
    expect(err.name).toBe('ThrottlingException');
  });

  it('adds latency only to the listed operations', async () => {
    const server = await startServer({ secrets });
    server.setFaults({ latencyMs: 300, operations: ['GetSecretValue'] });
    const client = clientFor(server);
    let t = performance.now();
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'app/a' }))).SecretString).toBe('A');
    expect(performance.now() - t).toBeGreaterThanOrEqual(290);
    t = performance.now();
    await client.send(new DescribeSecretCommand({ SecretId: 'app/a' }));
    expect(performance.now() - t).toBeLessThan(250);
    expect(server.calls({ operation: 'GetSecretValue', outcome: 'ok' })).toBe(1);
  });

  it('dropConnections destroys the socket without an answer', async () => {
    const server = await startServer({ secrets });
    server.setFaults({ dropConnections: true });
    const err = await rejection(clientFor(server).send(new GetSecretValueCommand({ SecretId: 'app/a' })));
    expect(err.$metadata?.httpStatusCode).toBeUndefined();
    expect(err.name).not.toBe('ThrottlingException');
    expect(server.calls({ outcome: 'fault' })).toBe(1);
    // Raw view: no HTTP response at all.
    await expect(signedFetch(server, { operation: 'GetSecretValue', body: { SecretId: 'app/a' } })).rejects.toThrow(
      'fetch failed',
    );
    expect(server.calls({ outcome: 'fault' })).toBe(2);
  });

  it('hang holds requests until the hang is cleared, then serves them', async () => {
    const server = await startServer({ secrets });
    server.setFaults({ hang: true });
    const client = clientFor(server);
    let settled = false;
    const pending = client.send(new GetSecretValueCommand({ SecretId: 'app/a' })).finally(() => (settled = true));
    await waitFor(() => server.calls({ outcome: 'fault' }) === 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(settled).toBe(false);

    server.setFaults({ latencyMs: 0 }); // any fault set without hang lifts it
    expect((await pending).SecretString).toBe('A');
    expect(server.calls({ outcome: 'fault' })).toBe(0);
    expect(server.calls({ outcome: 'ok' })).toBe(1);
  });

  it('close() resolves quickly with hanging, slow and idle keep-alive connections open', async () => {
    const server = await startServer({ secrets });
    const client = clientFor(server);
    await client.send(new GetSecretValueCommand({ SecretId: 'app/a' })); // leaves an idle keep-alive socket
    server.setFaults({ hang: true, operations: ['GetSecretValue'] });
    const hanging = client.send(new GetSecretValueCommand({ SecretId: 'app/a' }));
    await waitFor(() => server.calls({ outcome: 'fault' }) === 1);
    // A client stuck half-way through its body: the server is still reading it.
    const slow = connect(server.port, '127.0.0.1');
    const slowClosed = new Promise((resolve) => slow.on('close', resolve));
    slow.on('error', () => {});
    slow.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"SecretId"');
    await new Promise((r) => setTimeout(r, 50));

    const t = performance.now();
    await server.close();
    expect(performance.now() - t).toBeLessThan(500);
    const err = await rejection(hanging);
    expect(err.$metadata?.httpStatusCode).toBeUndefined();
    await slowClosed;
    // Closed for real: a new request is refused.
    await expect(fetch(`${server.url}/__control/health`)).rejects.toThrow('fetch failed');
    await server.close(); // idempotent
  });

  it('close() does not wait for injected latency', async () => {
    const server = await startServer({ secrets });
    server.setFaults({ latencyMs: 10_000 });
    const slow = rejection(clientFor(server).send(new GetSecretValueCommand({ SecretId: 'app/a' })));
    await waitFor(() => server.calls() === 1);
    const t = performance.now();
    await server.close();
    expect(performance.now() - t).toBeLessThan(500);
    expect((await slow).$metadata?.httpStatusCode).toBeUndefined();
  });

  it('rejects malformed fault settings', async () => {
    const server = await startServer();
    expect(() => server.setFaults({ throttleRate: 2 })).toThrow('throttleRate must be a number in [0, 1]');
    expect(() => server.setFaults({ throttle: 1 } as never)).toThrow('unknown fault "throttle"');
    expect(() => server.setFaults({ latencyMs: -1 })).toThrow('latencyMs');
  });
});

describe('calls', () => {
  it('counts every arrival by operation, secret (names and ARNs alike) and outcome, and resets', async () => {
    const server = await startServer({ secrets: [...secrets, { name: 'app/b', secretString: 'B' }] });
    const client = clientFor(server);
    await client.send(new GetSecretValueCommand({ SecretId: 'app/a' }));
    await client.send(new GetSecretValueCommand({ SecretId: server.arnOf('app/a') }));
    await client.send(new DescribeSecretCommand({ SecretId: 'app/b' }));
    await rejection(client.send(new GetSecretValueCommand({ SecretId: 'app/missing' })));

    expect(server.calls()).toBe(4);
    expect(server.calls({ operation: 'GetSecretValue' })).toBe(3);
    expect(server.calls({ secretName: 'app/a' })).toBe(2);
    expect(server.calls({ operation: 'GetSecretValue', secretName: 'app/a', outcome: 'ok' })).toBe(2);
    expect(server.calls({ secretName: 'app/missing', outcome: 'error' })).toBe(1);
    expect(server.calls({ outcome: 'fault' })).toBe(0);

    server.resetCalls();
    expect(server.calls()).toBe(0);
    await client.send(new GetSecretValueCommand({ SecretId: 'app/b' }));
    expect(server.calls()).toBe(1);
  });
});
