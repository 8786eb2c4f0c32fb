import { DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { ADMIN, READER, clientFor, errorBody, rejection, signedFetch, startServer } from './helpers.ts';

const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. ' +
  'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

describe('SigV4', () => {
  it('accepts a correctly signed request from the SDK and from a hand-signed request', async () => {
    const server = await startServer({ secrets: [{ name: 'app/a', secretString: 'A' }] });
    const out = await clientFor(server).send(new GetSecretValueCommand({ SecretId: 'app/a' }));
    expect(out.SecretString).toBe('A');
    const res = await signedFetch(server, { operation: 'GetSecretValue', body: { SecretId: 'app/a' } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { SecretString: string }).SecretString).toBe('A');
  });

  it('accepts session credentials (any token for a known key) and rejects a token swapped after signing', async () => {
    const server = await startServer({ secrets: [{ name: 'app/a', secretString: 'A' }] });
    const out = await clientFor(server, { ...ADMIN, sessionToken: 'FwoGZXIvYXdzEXAMPLE' }).send(
      new GetSecretValueCommand({ SecretId: 'app/a' }),
    );
    expect(out.SecretString).toBe('A');

    const principal = { ...ADMIN, sessionToken: 'token-one' };
    const ok = await signedFetch(server, { operation: 'GetSecretValue', body: { SecretId: 'app/a' }, principal });
    expect(ok.status).toBe(200);
    const swapped = await signedFetch(server, {
      operation: 'GetSecretValue',
      body: { SecretId: 'app/a' },
      principal,
      tamper: (req) => void (req.headers['x-amz-security-token'] = 'token-two'),
    });
    expect(swapped.status).toBe(400);
    expect(await errorBody(swapped)).toEqual({ __type: 'InvalidSignatureException', message: SIGNATURE_MISMATCH });
  });

  it('answers InvalidSignatureException for a wrong secret key', async () => {
    const server = await startServer({ secrets: [{ name: 'app/a', secretString: 'A' }] });
    const err = await rejection(
      clientFor(server, { accessKeyId: ADMIN.accessKeyId, secretAccessKey: 'wrong' }).send(
        new GetSecretValueCommand({ SecretId: 'app/a' }),
      ),
    );
    expect(err.name).toBe('InvalidSignatureException');
    expect(err.message).toBe(SIGNATURE_MISMATCH);
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(server.calls({ operation: 'GetSecretValue', outcome: 'error' })).toBe(1);
  });

  it('answers UnrecognizedClientException for an unknown access key', async () => {
    const server = await startServer({ secrets: [{ name: 'app/a', secretString: 'A' }] });
    const err = await rejection(
      clientFor(server, { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x' }).send(
        new GetSecretValueCommand({ SecretId: 'app/a' }),
      ),
    );
    expect(err.name).toBe('UnrecognizedClientException');
    expect(err.message).toBe('The security token included in the request is invalid.');
  });

  it('answers InvalidSignatureException for a credential scoped to another region or service', async () => {
    const server = await startServer({ secrets: [{ name: 'app/a', secretString: 'A' }] });
    const region = await rejection(
      clientFor(server, ADMIN, { region: 'eu-west-1' }).send(new GetSecretValueCommand({ SecretId: 'app/a' })),
    );
    expect(region.name).toBe('InvalidSignatureException');
    expect(region.message).toBe("Credential should be scoped to a valid region, not 'eu-west-1'.");

    const service = await signedFetch(server, { operation: 'GetSecretValue', body: { SecretId: 'app/a' }, service: 's3' });
    expect(service.status).toBe(400);
    expect(await errorBody(service)).toEqual({
      __type: 'InvalidSignatureException',
      message: "Credential should be scoped to correct service: 'secretsmanager'.",
    });
  });

  it('rejects a body changed after signing, with and without x-amz-content-sha256', async () => {
    const server = await startServer({ secrets: [{ name: 'app/a', secretString: 'A' }, { name: 'app/b', secretString: 'B' }] });
    const swapBody = (req: { body: string }) => void (req.body = JSON.stringify({ SecretId: 'app/b' }));
    const withSha = await signedFetch(server, { operation: 'GetSecretValue', body: { SecretId: 'app/a' }, tamper: swapBody });
    expect(await errorBody(withSha)).toEqual({
      __type: 'InvalidSignatureException',
      message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
    });
    const withoutSha = await signedFetch(server, {
      operation: 'GetSecretValue',
      body: { SecretId: 'app/a' },
      contentSha: false,
      tamper: swapBody,
    });
    expect(await errorBody(withoutSha)).toEqual({ __type: 'InvalidSignatureException', message: SIGNATURE_MISMATCH });
    // Unmodified, the unsigned-hash variant is fine: the server hashes the body itself.
    const intact = await signedFetch(server, { operation: 'GetSecretValue', body: { SecretId: 'app/a' }, contentSha: false });
    expect(intact.status).toBe(200);
  });

  it('rejects a signed header changed after signing', async () => {
    const server = await startServer({ secrets: [{ name: 'app/a', secretString: 'A' }] });
    const res = await signedFetch(server, {
      operation: 'GetSecretValue',
      body: { SecretId: 'app/a' },
      tamper: (req) => void (req.headers['x-amz-target'] = 'secretsmanager.DescribeSecret'),
    });
    expect((await errorBody(res)).__type).toBe('InvalidSignatureException');
  });

  it('answers MissingAuthenticationTokenException and IncompleteSignatureException for absent or malformed auth', async () => {
    const server = await startServer();
    const post = (authorization?: string) =>
      fetch(`${server.url}/`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': 'secretsmanager.GetSecretValue',
          ...(authorization ? { authorization } : {}),
        },
        body: '{"SecretId":"app/a"}',
      });
    expect((await errorBody(await post())).__type).toBe('MissingAuthenticationTokenException');
    const noSignature = await errorBody(
      await post(`AWS4-HMAC-SHA256 Credential=${ADMIN.accessKeyId}/20240101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host`),
    );
    expect(noSignature).toEqual({
      __type: 'IncompleteSignatureException',
      message: "Authorization header requires 'Signature' parameter.",
    });
    expect((await errorBody(await post('Basic dXNlcjpwYXNz'))).__type).toBe('IncompleteSignatureException');
  });

  it('enforces the clock skew window both ways (default 5 minutes)', async () => {
    const server = await startServer({ secrets: [{ name: 'app/a', secretString: 'A' }] });
    const late = await signedFetch(server, {
      operation: 'GetSecretValue',
      body: { SecretId: 'app/a' },
      signingDate: new Date(Date.now() - 6 * 60_000),
    });
    const lateBody = await errorBody(late);
    expect(lateBody.__type).toBe('InvalidSignatureException');
    expect(lateBody.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/);
    const early = await signedFetch(server, {
      operation: 'GetSecretValue',
      body: { SecretId: 'app/a' },
      signingDate: new Date(Date.now() + 6 * 60_000),
    });
    expect((await errorBody(early)).message).toMatch(/^Signature not yet current: /);
    const withinSkew = await signedFetch(server, {
      operation: 'GetSecretValue',
      body: { SecretId: 'app/a' },
      signingDate: new Date(Date.now() - 4 * 60_000),
    });
    expect(withinSkew.status).toBe(200);
  });

  it('lets the SDK correct its clock from the Date header after a skew error, as against AWS', async () => {
    const serverNow = () => new Date(Date.now() + 10 * 60_000);
    const server = await startServer({ now: serverNow, secrets: [{ name: 'app/a', secretString: 'A' }] });

    const once = await rejection(clientFor(server).send(new GetSecretValueCommand({ SecretId: 'app/a' })));
    expect(once.name).toBe('InvalidSignatureException');
    expect(once.message).toMatch(/^Signature expired/);

    const out = await clientFor(server, ADMIN, { maxAttempts: 3 }).send(new GetSecretValueCommand({ SecretId: 'app/a' }));
    expect(out.SecretString).toBe('A');
    expect(out.$metadata.attempts).toBe(2);
    expect(server.calls({ outcome: 'error' })).toBe(2);
    expect(server.calls({ outcome: 'ok' })).toBe(1);
  });

  it('honours maxClockSkewMs', async () => {
    const server = await startServer({ maxClockSkewMs: 1000, secrets: [{ name: 'app/a', secretString: 'A' }] });
    const res = await signedFetch(server, {
      operation: 'GetSecretValue',
      body: { SecretId: 'app/a' },
      signingDate: new Date(Date.now() - 5000),
    });
    expect(res.status).toBe(400);
    expect((await errorBody(res)).message).toMatch(/^Signature expired: .* - 1 s\.\)$/);
    const fresh = await signedFetch(server, { operation: 'GetSecretValue', body: { SecretId: 'app/a' } });
    expect(fresh.status).toBe(200);
  });
});

describe('allow lists', () => {
  const secrets = [
    { name: 'app/db', secretString: 'db-value' },
    { name: 'other/key', secretString: 'other-value' },
  ];

  it('lets a principal do exactly what its allow list says', async () => {
    const server = await startServer({ secrets });
    const reader = clientFor(server, READER);
    expect((await reader.send(new GetSecretValueCommand({ SecretId: 'app/db' }))).SecretString).toBe('db-value');
    expect((await reader.send(new DescribeSecretCommand({ SecretId: server.arnOf('app/db') }))).Name).toBe('app/db');

    const put = await rejection(reader.send(new PutSecretValueCommand({ SecretId: 'app/db', SecretString: 'new' })));
    expect(put.name).toBe('AccessDeniedException');
    expect(put.message).toBe(
      `User: arn:aws:iam::000000000000:user/${READER.accessKeyId} is not authorized to perform: ` +
        'secretsmanager:PutSecretValue on resource: app/db because no identity-based policy allows the ' +
        'secretsmanager:PutSecretValue action',
    );
    expect(put.message).not.toContain('new');
    expect((await clientFor(server).send(new GetSecretValueCommand({ SecretId: 'app/db' }))).SecretString).toBe('db-value');
  });

  it('denies secrets outside the list by name or ARN, without revealing whether they exist', async () => {
    const server = await startServer({ secrets });
    const reader = clientFor(server, READER);
    for (const secretId of ['other/key', server.arnOf('other/key'), 'other/missing']) {
      const err = await rejection(reader.send(new GetSecretValueCommand({ SecretId: secretId })));
      expect(err.name).toBe('AccessDeniedException');
      expect(err.message).toContain('secretsmanager:GetSecretValue on resource: other/');
      expect(err.message).not.toContain('other-value');
    }
    const inside = await rejection(reader.send(new GetSecretValueCommand({ SecretId: 'app/missing' })));
    expect(inside.name).toBe('ResourceNotFoundException');
  });

  it('checks the signature before anything about the secret', async () => {
    const server = await startServer({ secrets });
    const err = await rejection(
      clientFor(server, { accessKeyId: READER.accessKeyId, secretAccessKey: 'bad' }).send(
        new GetSecretValueCommand({ SecretId: 'does/not/exist' }),
      ),
    );
    expect(err.name).toBe('InvalidSignatureException');
  });
});
