import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { clientFor, errorBody, hex32, manualClock, rejection, startServer } from './helpers.ts';

const ARN_PREFIX = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:';

describe('GetSecretValue', () => {
  it('finds a secret by name, full ARN and partial ARN, with AWS-shaped output', async () => {
    const clock = manualClock();
    const server = await startServer({
      now: clock.now,
      secrets: [{ name: 'app/db', secretString: '{"password":"pw-1"}', versionId: hex32(1) }],
    });
    const client = clientFor(server);
    const arn = server.arnOf('app/db');
    expect(arn).toMatch(/^arn:aws:secretsmanager:us-east-1:000000000000:secret:app\/db-[A-Za-z0-9]{6}$/);

    for (const secretId of ['app/db', arn, `${ARN_PREFIX}app/db`]) {
      const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
      expect(out.ARN).toBe(arn);
      expect(out.Name).toBe('app/db');
      expect(out.VersionId).toBe(hex32(1));
      expect(out.SecretString).toBe('{"password":"pw-1"}');
      expect(out.SecretBinary).toBeUndefined();
      expect(out.VersionStages).toEqual(['AWSCURRENT']);
      expect(out.CreatedDate).toEqual(new Date(clock.ms()));
      expect(out.$metadata.httpStatusCode).toBe(200);
      expect(out.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('answers ResourceNotFoundException for unknown names, other accounts and other regions', async () => {
    const server = await startServer({ secrets: [{ name: 'app/db', secretString: 'x' }] });
    const client = clientFor(server);
    for (const secretId of [
      'app/nope',
      'arn:aws:secretsmanager:us-east-1:111111111111:secret:app/db',
      'arn:aws:secretsmanager:eu-west-1:000000000000:secret:app/db',
    ]) {
      const err = await rejection(client.send(new GetSecretValueCommand({ SecretId: secretId })));
      expect(err.name).toBe('ResourceNotFoundException');
      expect(err.message).toBe("Secrets Manager can't find the specified secret.");
      expect(err.$metadata.httpStatusCode).toBe(400);
    }
  });

  it('returns SecretBinary as bytes', async () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 255, 10]);
    const server = await startServer({ secrets: [{ name: 'bin', secretBinary: bytes }] });
    const out = await clientFor(server).send(new GetSecretValueCommand({ SecretId: 'bin' }));
    expect(out.SecretString).toBeUndefined();
    expect(Array.from(out.SecretBinary ?? [])).toEqual([0, 1, 2, 250, 255, 10]);
  });

  it('selects by VersionId and VersionStage, and rejects a pair that disagrees', async () => {
    const server = await startServer({ secrets: [{ name: 's', secretString: 'one', versionId: hex32(1) }] });
    server.putSecretValue('s', { secretString: 'two' });
    const client = clientFor(server);

    const byId = await client.send(new GetSecretValueCommand({ SecretId: 's', VersionId: hex32(1) }));
    expect(byId.SecretString).toBe('one');
    expect(byId.VersionStages).toEqual(['AWSPREVIOUS']);
    const byStage = await client.send(new GetSecretValueCommand({ SecretId: 's', VersionStage: 'AWSPREVIOUS' }));
    expect(byStage.VersionId).toBe(hex32(1));
    const both = await client.send(
      new GetSecretValueCommand({ SecretId: 's', VersionId: hex32(1), VersionStage: 'AWSPREVIOUS' }),
    );
    expect(both.SecretString).toBe('one');

    const mismatch = await rejection(
      client.send(new GetSecretValueCommand({ SecretId: 's', VersionId: hex32(1), VersionStage: 'AWSCURRENT' })),
    );
    expect(mismatch.name).toBe('InvalidParameterException');

    const noStage = await rejection(client.send(new GetSecretValueCommand({ SecretId: 's', VersionStage: 'AWSPENDING' })));
    expect(noStage.name).toBe('ResourceNotFoundException');
    expect(noStage.message).toBe("Secrets Manager can't find the specified secret value for staging label: AWSPENDING");

    const noVersion = await rejection(client.send(new GetSecretValueCommand({ SecretId: 's', VersionId: hex32(9) })));
    expect(noVersion.name).toBe('ResourceNotFoundException');
    expect(noVersion.message).toContain(hex32(9));

    const shortId = await rejection(client.send(new GetSecretValueCommand({ SecretId: 's', VersionId: 'abc' })));
    expect(shortId.name).toBe('ValidationException');
  });

  it('reports a missing SecretId as ValidationException', async () => {
    const server = await startServer();
    const err = await rejection(clientFor(server).send(new GetSecretValueCommand({} as { SecretId: string })));
    expect(err.name).toBe('ValidationException');
    expect(err.message).toContain("'secretId'");
  });
});

describe('CreateSecret', () => {
  it('creates a secret whose first version is AWSCURRENT and uses ClientRequestToken as its id', async () => {
    const server = await startServer();
    const client = clientFor(server);
    const created = await client.send(
      new CreateSecretCommand({ Name: 'new/one', SecretString: 'v1', ClientRequestToken: hex32(7), Description: 'demo' }),
    );
    expect(created.Name).toBe('new/one');
    expect(created.VersionId).toBe(hex32(7));
    expect(created.ARN).toBe(server.arnOf('new/one'));

    const value = await client.send(new GetSecretValueCommand({ SecretId: created.ARN! }));
    expect(value.SecretString).toBe('v1');
    const described = await client.send(new DescribeSecretCommand({ SecretId: 'new/one' }));
    expect(described.Description).toBe('demo');
    expect(described.VersionIdsToStages).toEqual({ [hex32(7)]: ['AWSCURRENT'] });
  });

  it('is idempotent for a retry with the same token and value, ResourceExistsException otherwise', async () => {
    const server = await startServer();
    const client = clientFor(server);
    const first = await client.send(new CreateSecretCommand({ Name: 'dup', SecretString: 'v', ClientRequestToken: hex32(1) }));
    const retry = await client.send(new CreateSecretCommand({ Name: 'dup', SecretString: 'v', ClientRequestToken: hex32(1) }));
    expect(retry.ARN).toBe(first.ARN);
    expect(retry.VersionId).toBe(hex32(1));

    const again = await rejection(client.send(new CreateSecretCommand({ Name: 'dup', SecretString: 'v' })));
    expect(again.name).toBe('ResourceExistsException');
    expect(again.message).toBe('The operation failed because the secret dup already exists.');
  });

  it('creates a secret without a value, which has no AWSCURRENT until one is put', async () => {
    const server = await startServer();
    const client = clientFor(server);
    const created = await client.send(new CreateSecretCommand({ Name: 'empty' }));
    expect(created.VersionId).toBeUndefined();
    const err = await rejection(client.send(new GetSecretValueCommand({ SecretId: 'empty' })));
    expect(err.name).toBe('ResourceNotFoundException');
    const described = await client.send(new DescribeSecretCommand({ SecretId: 'empty' }));
    expect(described.VersionIdsToStages).toEqual({});

    await client.send(new PutSecretValueCommand({ SecretId: 'empty', SecretString: 'now', ClientRequestToken: hex32(2) }));
    const value = await client.send(new GetSecretValueCommand({ SecretId: 'empty' }));
    expect(value.SecretString).toBe('now');
    expect(value.VersionStages).toEqual(['AWSCURRENT']);
  });

  it('validates names and values', async () => {
    const server = await startServer();
    const client = clientFor(server);
    const badName = await rejection(client.send(new CreateSecretCommand({ Name: 'has space', SecretString: 'v' })));
    expect(badName.name).toBe('InvalidParameterException');
    const both = await rejection(
      client.send(new CreateSecretCommand({ Name: 'both', SecretString: 'v', SecretBinary: new Uint8Array([1]) })),
    );
    expect(both.name).toBe('InvalidParameterException');
    const tooBig = await rejection(client.send(new CreateSecretCommand({ Name: 'big', SecretString: 'x'.repeat(65537) })));
    expect(tooBig.name).toBe('ValidationException');
    expect(tooBig.message).not.toContain('xxxx');
  });
});

describe('DescribeSecret and ListSecretVersionIds', () => {
  it('describes dates, kms key and only the staged versions', async () => {
    const clock = manualClock();
    const created = clock.ms();
    const server = await startServer({
      now: clock.now,
      secrets: [{ name: 'd', secretString: 'a', versionId: hex32(1), kmsKeyId: 'alias/demo', description: 'desc' }],
    });
    clock.advance(1500);
    server.putSecretValue('d', { secretString: 'b' }, ['AWSCURRENT']);
    clock.advance(1500);
    const second = server.putSecretValue('d', { secretString: 'c' });
    clock.advance(1500);
    const third = server.putSecretValue('d', { secretString: 'd' });

    const out = await clientFor(server).send(new DescribeSecretCommand({ SecretId: 'd' }));
    expect(out.Name).toBe('d');
    expect(out.ARN).toBe(server.arnOf('d'));
    expect(out.Description).toBe('desc');
    expect(out.KmsKeyId).toBe('alias/demo');
    expect(out.CreatedDate).toEqual(new Date(created));
    expect(out.LastChangedDate).toEqual(new Date(created + 4500));
    expect(out.LastAccessedDate).toBeUndefined();
    // The first two versions are deprecated (no labels) and therefore absent.
    expect(out.VersionIdsToStages).toEqual({
      [second.versionId]: ['AWSPREVIOUS'],
      [third.versionId]: ['AWSCURRENT'],
    });
  });

  it('lists versions, hides deprecated ones unless asked, and paginates', async () => {
    const clock = manualClock();
    const start = clock.ms();
    const server = await startServer({ now: clock.now, secrets: [{ name: 'l', secretString: '1', versionId: hex32(1) }] });
    clock.advance(1000);
    server.putSecretValue('l', { secretString: '2' });
    clock.advance(1000);
    const v3 = server.putSecretValue('l', { secretString: '3' });
    const client = clientFor(server);

    const current = await client.send(new ListSecretVersionIdsCommand({ SecretId: 'l' }));
    expect(current.Name).toBe('l');
    expect(current.Versions?.map((v) => v.VersionStages)).toEqual([['AWSPREVIOUS'], ['AWSCURRENT']]);
    expect(current.Versions?.[1]?.VersionId).toBe(v3.versionId);
    expect(current.Versions?.[1]?.CreatedDate).toEqual(new Date(start + 2000));
    expect(current.NextToken).toBeUndefined();

    const all = await client.send(new ListSecretVersionIdsCommand({ SecretId: 'l', IncludeDeprecated: true }));
    expect(all.Versions).toHaveLength(3);
    expect(all.Versions?.[0]).toEqual({ VersionId: hex32(1), CreatedDate: new Date(start) });

    const page1 = await client.send(new ListSecretVersionIdsCommand({ SecretId: 'l', IncludeDeprecated: true, MaxResults: 2 }));
    expect(page1.Versions?.map((v) => v.VersionId)).toEqual(all.Versions?.slice(0, 2).map((v) => v.VersionId));
    expect(page1.NextToken).toBeTypeOf('string');
    const page2 = await client.send(
      new ListSecretVersionIdsCommand({ SecretId: 'l', IncludeDeprecated: true, MaxResults: 2, NextToken: page1.NextToken }),
    );
    expect(page2.Versions?.map((v) => v.VersionId)).toEqual([v3.versionId]);
    expect(page2.NextToken).toBeUndefined();

    const badToken = await rejection(client.send(new ListSecretVersionIdsCommand({ SecretId: 'l', NextToken: '%%%' })));
    expect(badToken.name).toBe('InvalidNextTokenException');
  });
});

describe('protocol', () => {
  it('answers errors as AWS JSON 1.1 with __type, x-amzn-ErrorType and a request id', async () => {
    const server = await startServer();
    const res = await fetch(`${server.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.GetSecretValue' },
      body: '{"SecretId":"x"}',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(res.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    expect(res.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await errorBody(res)).toEqual({
      __type: 'MissingAuthenticationTokenException',
      message: 'Missing Authentication Token',
    });
  });

  it('answers UnknownOperationException for a target it does not implement', async () => {
    const server = await startServer({ secrets: [{ name: 'x', secretString: 'v' }] });
    const client = clientFor(server);
    // Rewrite the target before signing, so the request is correctly signed for an unknown operation.
    client.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { headers: Record<string, string> }).headers['x-amz-target'] = 'secretsmanager.RotateEverything';
        return next(args);
      },
      { step: 'build', name: 'rewriteTarget' },
    );
    const err = await rejection(client.send(new GetSecretValueCommand({ SecretId: 'x' })));
    expect(err.name).toBe('UnknownOperationException');
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(server.calls({ operation: 'RotateEverything', outcome: 'error' })).toBe(1);
  });
});
