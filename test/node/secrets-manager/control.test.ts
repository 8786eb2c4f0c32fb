import { DescribeSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { clientFor, rejection, startServer, waitFor } from './helpers.ts';

async function control(url: string, path: string, body?: unknown): Promise<{ status: number; json: any; requestId: string | null }> {
  const res = await fetch(`${url}/__control/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: await res.json(), requestId: res.headers.get('x-amzn-requestid') };
}

describe('control endpoints', () => {
  it('POST /__control/secrets creates a secret, then adds versions with AWS stage semantics', async () => {
    const server = await startServer();
    const client = clientFor(server);
    const first = await control(server.url, 'secrets', { name: 'ctl/s', secretString: 'v1' });
    expect(first.status).toBe(200);
    expect(first.json.arn).toBe(server.arnOf('ctl/s'));
    expect(first.json.versionId).toMatch(/^[0-9a-f-]{36}$/);

    const second = await control(server.url, 'secrets', { name: 'ctl/s', secretString: 'v2' });
    expect(second.json.arn).toBe(first.json.arn);
    const pending = await control(server.url, 'secrets', {
      name: 'ctl/s',
      secretBinaryBase64: Buffer.from([7, 8, 9]).toString('base64'),
      stages: ['AWSPENDING'],
      versionId: 'c'.repeat(32),
    });
    expect(pending.json.versionId).toBe('c'.repeat(32));

    const current = await client.send(new GetSecretValueCommand({ SecretId: 'ctl/s' }));
    expect(current.SecretString).toBe('v2');
    expect(current.VersionId).toBe(second.json.versionId);
    const previous = await client.send(new GetSecretValueCommand({ SecretId: 'ctl/s', VersionStage: 'AWSPREVIOUS' }));
    expect(previous.VersionId).toBe(first.json.versionId);
    const pend = await client.send(new GetSecretValueCommand({ SecretId: 'ctl/s', VersionStage: 'AWSPENDING' }));
    expect(Array.from(pend.SecretBinary ?? [])).toEqual([7, 8, 9]);

    const bad = await control(server.url, 'secrets', { name: 'ctl/s' });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toBe('give exactly one of secretString, secretBinaryBase64');
    const conflict = await control(server.url, 'secrets', { name: 'ctl/s', secretString: 'x', versionId: 'c'.repeat(32) });
    expect(conflict.status).toBe(400);
    expect(conflict.json.__type).toBe('ResourceExistsException');
  });

  it('POST /__control/faults sets faults ({} clears) and GET shows them', async () => {
    const server = await startServer({ secrets: [{ name: 'app/a', secretString: 'A' }] });
    const client = clientFor(server);
    const set = await control(server.url, 'faults', { throttleRate: 1, operations: ['GetSecretValue'] });
    expect(set.json).toEqual({ ok: true, faults: { throttleRate: 1, operations: ['GetSecretValue'] } });
    expect((await control(server.url, 'faults')).json).toEqual({ throttleRate: 1, operations: ['GetSecretValue'] });
    expect((await rejection(client.send(new GetSecretValueCommand({ SecretId: 'app/a' })))).name).toBe('ThrottlingException');
    expect((await client.send(new DescribeSecretCommand({ SecretId: 'app/a' }))).Name).toBe('app/a');

    expect((await control(server.url, 'faults', {})).json).toEqual({ ok: true, faults: {} });
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'app/a' }))).SecretString).toBe('A');

    const typo = await control(server.url, 'faults', { throttle: 1 });
    expect(typo).toMatchObject({ status: 400, json: { message: 'unknown fault "throttle"' } });
    const notJson = await control(server.url, 'faults', '{nope');
    expect(notJson).toMatchObject({ status: 400, json: { message: 'body is not valid JSON' } });
  });

  it('hang set and lifted over HTTP', async () => {
    const server = await startServer({ secrets: [{ name: 'app/a', secretString: 'A' }] });
    await control(server.url, 'faults', { hang: true });
    const pending = clientFor(server).send(new GetSecretValueCommand({ SecretId: 'app/a' }));
    await waitFor(() => server.calls({ outcome: 'fault' }) === 1);
    await control(server.url, 'faults', {});
    expect((await pending).SecretString).toBe('A');
  });

  it('GET /__control/calls counts with filters, POST /__control/calls/reset resets; control calls are not counted', async () => {
    const server = await startServer({ secrets: [{ name: 'app/a', secretString: 'A' }] });
    const client = clientFor(server);
    await client.send(new GetSecretValueCommand({ SecretId: 'app/a' }));
    await client.send(new DescribeSecretCommand({ SecretId: 'app/a' }));
    await rejection(client.send(new GetSecretValueCommand({ SecretId: 'app/zzz' })));

    const all = await control(server.url, 'calls');
    expect(all.json).toEqual({ count: 3 });
    expect(all.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await control(server.url, 'calls?operation=GetSecretValue')).json).toEqual({ count: 2 });
    expect((await control(server.url, 'calls?operation=GetSecretValue&secretName=app/a&outcome=ok')).json).toEqual({ count: 1 });
    expect((await control(server.url, 'calls?outcome=error')).json).toEqual({ count: 1 });
    expect((await control(server.url, 'calls?outcome=bogus')).status).toBe(400);
    expect(server.calls()).toBe(3);

    expect((await control(server.url, 'calls/reset', {})).json).toEqual({ ok: true });
    expect((await control(server.url, 'calls')).json).toEqual({ count: 0 });
    expect((await control(server.url, 'nope')).status).toBe(404);
  });

  it('is off when controlEndpoints is false', async () => {
    const server = await startServer({ controlEndpoints: false });
    const res = await control(server.url, 'calls');
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ message: 'control endpoints are disabled on this server' });
  });
});
