import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { clientFor, hex32, rejection, startServer } from './helpers.ts';

async function stages(client: SecretsManagerClient, secretId: string): Promise<Record<string, string[]>> {
  const out = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
  return out.VersionIdsToStages ?? {};
}

describe('PutSecretValue', () => {
  it('moves AWSCURRENT to the new version, gives AWSPREVIOUS to the old one and deprecates the one before', async () => {
    const server = await startServer({ secrets: [{ name: 'r', secretString: 'v1', versionId: hex32(1) }] });
    const client = clientFor(server);

    const put2 = await client.send(new PutSecretValueCommand({ SecretId: 'r', SecretString: 'v2', ClientRequestToken: hex32(2) }));
    expect(put2).toMatchObject({ ARN: server.arnOf('r'), Name: 'r', VersionId: hex32(2), VersionStages: ['AWSCURRENT'] });
    expect(await stages(client, 'r')).toEqual({ [hex32(1)]: ['AWSPREVIOUS'], [hex32(2)]: ['AWSCURRENT'] });

    await client.send(new PutSecretValueCommand({ SecretId: 'r', SecretString: 'v3', ClientRequestToken: hex32(3) }));
    expect(await stages(client, 'r')).toEqual({ [hex32(2)]: ['AWSPREVIOUS'], [hex32(3)]: ['AWSCURRENT'] });
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'r' }))).SecretString).toBe('v3');
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'r', VersionStage: 'AWSPREVIOUS' }))).SecretString).toBe('v2');

    // Deprecated: no labels, hidden from the default listing, still readable by id.
    const deprecated = await client.send(new GetSecretValueCommand({ SecretId: 'r', VersionId: hex32(1) }));
    expect(deprecated.SecretString).toBe('v1');
    expect(deprecated.VersionStages).toEqual([]);
    const listed = await client.send(new ListSecretVersionIdsCommand({ SecretId: 'r' }));
    expect(listed.Versions?.map((v) => v.VersionId)).toEqual([hex32(2), hex32(3)]);
  });

  it('is idempotent for the same token and value and refuses the same token with another value', async () => {
    const server = await startServer({ secrets: [{ name: 'i', secretString: 'v1', versionId: hex32(1) }] });
    const client = clientFor(server);
    const first = await client.send(new PutSecretValueCommand({ SecretId: 'i', SecretString: 'v2', ClientRequestToken: hex32(2) }));
    const retry = await client.send(new PutSecretValueCommand({ SecretId: 'i', SecretString: 'v2', ClientRequestToken: hex32(2) }));
    expect(retry.VersionId).toBe(first.VersionId);
    expect(retry.VersionStages).toEqual(['AWSCURRENT']);
    // The retry did not rotate again: v1 is still AWSPREVIOUS.
    expect(await stages(client, 'i')).toEqual({ [hex32(1)]: ['AWSPREVIOUS'], [hex32(2)]: ['AWSCURRENT'] });

    const conflict = await rejection(
      client.send(new PutSecretValueCommand({ SecretId: 'i', SecretString: 'other', ClientRequestToken: hex32(2) })),
    );
    expect(conflict.name).toBe('ResourceExistsException');
    expect(conflict.message).not.toContain('other');
    const binaryConflict = await rejection(
      client.send(
        new PutSecretValueCommand({ SecretId: 'i', SecretBinary: new TextEncoder().encode('v2'), ClientRequestToken: hex32(2) }),
      ),
    );
    expect(binaryConflict.name).toBe('ResourceExistsException');
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'i' }))).SecretString).toBe('v2');
  });

  it('attaches custom stages without touching AWSCURRENT', async () => {
    const server = await startServer({ secrets: [{ name: 'p', secretString: 'v1', versionId: hex32(1) }] });
    const client = clientFor(server);
    await client.send(
      new PutSecretValueCommand({ SecretId: 'p', SecretString: 'pending', ClientRequestToken: hex32(2), VersionStages: ['AWSPENDING'] }),
    );
    expect(await stages(client, 'p')).toEqual({ [hex32(1)]: ['AWSCURRENT'], [hex32(2)]: ['AWSPENDING'] });
    // A second pending version takes the label away from the first, which becomes deprecated.
    await client.send(
      new PutSecretValueCommand({ SecretId: 'p', SecretString: 'pending2', ClientRequestToken: hex32(3), VersionStages: ['AWSPENDING'] }),
    );
    expect(await stages(client, 'p')).toEqual({ [hex32(1)]: ['AWSCURRENT'], [hex32(3)]: ['AWSPENDING'] });
  });

  it('rejects requests without exactly one of SecretString and SecretBinary, and unknown secrets', async () => {
    const server = await startServer({ secrets: [{ name: 'e', secretString: 'v1' }] });
    const client = clientFor(server);
    const none = await rejection(client.send(new PutSecretValueCommand({ SecretId: 'e' })));
    expect(none.name).toBe('InvalidParameterException');
    const both = await rejection(
      client.send(new PutSecretValueCommand({ SecretId: 'e', SecretString: 'a', SecretBinary: new Uint8Array([1]) })),
    );
    expect(both.name).toBe('InvalidParameterException');
    const missing = await rejection(client.send(new PutSecretValueCommand({ SecretId: 'nope', SecretString: 'a' })));
    expect(missing.name).toBe('ResourceNotFoundException');
    const emptyStages = await rejection(
      client.send(new PutSecretValueCommand({ SecretId: 'e', SecretString: 'a', VersionStages: [] })),
    );
    expect(emptyStages.name).toBe('ValidationException');
  });

  it('direct putSecretValue has the same semantics as the operation', async () => {
    const server = await startServer({ secrets: [{ name: 'd', secretString: 'v1', versionId: hex32(1) }] });
    const { versionId } = server.putSecretValue('d', { secretString: 'v2' });
    expect(versionId).toMatch(/^[0-9a-f-]{36}$/);
    const client = clientFor(server);
    expect(await stages(client, 'd')).toEqual({ [hex32(1)]: ['AWSPREVIOUS'], [versionId]: ['AWSCURRENT'] });
    const pending = server.putSecretValue('d', { secretBinary: new Uint8Array([9]) }, ['AWSPENDING']);
    expect(await stages(client, 'd')).toEqual({
      [hex32(1)]: ['AWSPREVIOUS'],
      [versionId]: ['AWSCURRENT'],
      [pending.versionId]: ['AWSPENDING'],
    });
    expect(() => server.putSecretValue('missing', { secretString: 'x' })).toThrow(
      expect.objectContaining({ name: 'ResourceNotFoundException' }),
    );
  });
});

describe('UpdateSecretVersionStage', () => {
  async function rotated() {
    const server = await startServer({ secrets: [{ name: 'u', secretString: 'v1', versionId: hex32(1) }] });
    server.putSecretValue('u', { secretString: 'v2' }, ['AWSPENDING']);
    const v2 = (await clientFor(server).send(new GetSecretValueCommand({ SecretId: 'u', VersionStage: 'AWSPENDING' }))).VersionId!;
    return { server, client: clientFor(server), v2 };
  }

  it('refuses to move a label attached elsewhere unless RemoveFromVersionId names its holder', async () => {
    const { client, v2 } = await rotated();
    const err = await rejection(
      client.send(new UpdateSecretVersionStageCommand({ SecretId: 'u', VersionStage: 'AWSCURRENT', MoveToVersionId: v2 })),
    );
    expect(err.name).toBe('InvalidParameterException');
    expect(err.message).toContain(hex32(1));
    const wrongHolder = await rejection(
      client.send(
        new UpdateSecretVersionStageCommand({ SecretId: 'u', VersionStage: 'AWSCURRENT', MoveToVersionId: v2, RemoveFromVersionId: v2 }),
      ),
    );
    expect(wrongHolder.name).toBe('InvalidParameterException');
    expect(await stages(client, 'u')).toEqual({ [hex32(1)]: ['AWSCURRENT'], [v2]: ['AWSPENDING'] });
  });

  it('moving AWSCURRENT gives AWSPREVIOUS to the old holder (rotation finish), and moving it back rolls back', async () => {
    const { client, v2 } = await rotated();
    const out = await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: 'u',
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: v2,
        RemoveFromVersionId: hex32(1),
      }),
    );
    expect(out.Name).toBe('u');
    expect(await stages(client, 'u')).toEqual({ [hex32(1)]: ['AWSPREVIOUS'], [v2]: ['AWSPENDING', 'AWSCURRENT'] });
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'u' }))).SecretString).toBe('v2');

    await client.send(
      new UpdateSecretVersionStageCommand({ SecretId: 'u', VersionStage: 'AWSPENDING', RemoveFromVersionId: v2 }),
    );
    expect(await stages(client, 'u')).toEqual({ [hex32(1)]: ['AWSPREVIOUS'], [v2]: ['AWSCURRENT'] });

    // Roll back: AWSCURRENT to the AWSPREVIOUS version; labels swap.
    await client.send(
      new UpdateSecretVersionStageCommand({ SecretId: 'u', VersionStage: 'AWSCURRENT', MoveToVersionId: hex32(1), RemoveFromVersionId: v2 }),
    );
    expect(await stages(client, 'u')).toEqual({ [hex32(1)]: ['AWSCURRENT'], [v2]: ['AWSPREVIOUS'] });
  });

  it('attaches a free label without RemoveFromVersionId and validates the rest', async () => {
    const { client, v2 } = await rotated();
    await client.send(new UpdateSecretVersionStageCommand({ SecretId: 'u', VersionStage: 'MYLABEL', MoveToVersionId: hex32(1) }));
    expect(await stages(client, 'u')).toEqual({ [hex32(1)]: ['AWSCURRENT', 'MYLABEL'], [v2]: ['AWSPENDING'] });

    const removeCurrent = await rejection(
      client.send(new UpdateSecretVersionStageCommand({ SecretId: 'u', VersionStage: 'AWSCURRENT', RemoveFromVersionId: hex32(1) })),
    );
    expect(removeCurrent.name).toBe('InvalidParameterException');
    const notAttached = await rejection(
      client.send(new UpdateSecretVersionStageCommand({ SecretId: 'u', VersionStage: 'AWSPENDING', RemoveFromVersionId: hex32(1) })),
    );
    expect(notAttached.name).toBe('InvalidParameterException');
    const neither = await rejection(client.send(new UpdateSecretVersionStageCommand({ SecretId: 'u', VersionStage: 'X' })));
    expect(neither.name).toBe('InvalidParameterException');
    const unknownVersion = await rejection(
      client.send(new UpdateSecretVersionStageCommand({ SecretId: 'u', VersionStage: 'X', MoveToVersionId: hex32(99) })),
    );
    expect(unknownVersion.name).toBe('ResourceNotFoundException');
    expect(await stages(client, 'u')).toEqual({ [hex32(1)]: ['AWSCURRENT', 'MYLABEL'], [v2]: ['AWSPENDING'] });
  });
});
