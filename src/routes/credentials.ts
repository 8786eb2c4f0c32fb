/** POST /v1/credentials/{name}: the sandbox's one call. */
import { Hono } from 'hono';
import { toBrokerError } from '../errors.ts';
import { negotiateFormat } from '../http/negotiate.ts';
import { errorResponse, jsonResponse, textResponse } from '../http/responses.ts';
import { issueCredential, type IssuanceDeps } from '../issuance/issue-credential.ts';
import type { AppVariables } from '../app-variables.ts';
import { waitUntilOf } from './wait-until.ts';

export function credentialRoutes(deps: IssuanceDeps): Hono<{ Variables: AppVariables }> {
  const routes = new Hono<{ Variables: AppVariables }>();

  routes.post('/v1/credentials/:name', async (c) => {
    const requestId = c.get('requestId');
    try {
      const issuance = await issueCredential(
        {
          requestId,
          action: 'credential.issue',
          credentialName: c.req.param('name'),
          authorization: c.req.header('Authorization') ?? null,
          clientIp: c.req.header('CF-Connecting-IP') ?? null,
          userAgent: c.req.header('User-Agent') ?? null,
          waitUntil: waitUntilOf(c),
        },
        deps,
      );
      // Metadata travels in headers too, so a text/plain client (curl in a boot script) can read the kind.
      const metadata = {
        'X-Credential-Kind': issuance.kind,
        'X-Credential-Version-Id': issuance.versionId,
        'X-Issuance-Id': issuance.issuanceId,
      };
      if (negotiateFormat(c.req.header('Accept')) === 'text') {
        return textResponse(`${issuance.value}\n`, requestId, metadata);
      }
      return jsonResponse(
        {
          credential: issuance.credential,
          kind: issuance.kind,
          value: issuance.value,
          version_id: issuance.versionId,
          issued_at: issuance.issuedAt.toISOString(),
          issuance_id: issuance.issuanceId,
        },
        requestId,
        200,
        metadata,
      );
    } catch (error) {
      return errorResponse(toBrokerError(error), requestId);
    }
  });

  return routes;
}
