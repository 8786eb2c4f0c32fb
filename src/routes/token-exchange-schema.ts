/** The RFC 8693 token exchange request: validates the form and documents it in OpenAPI. */
import * as z from 'zod/mini';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** Not a registered type: an OpenAI API key is not an OAuth token. */
export const API_KEY_TOKEN_TYPE = 'urn:token-broker:token-type:api_key';
/** `resource` may name a credential as this URN (or as the credential route's URL). */
export const CREDENTIAL_URN_PREFIX = 'urn:token-broker:credential:';

/** RFC 6749 §3.2: unknown parameters are ignored, so the object is loose. */
export const tokenExchangeSchema = z.looseObject({
  grant_type: z.string().check(z.maxLength(256)),
  subject_token: z.string().check(z.minLength(1), z.maxLength(8192)),
  subject_token_type: z.string().check(z.maxLength(256)),
  resource: z.optional(z.string().check(z.maxLength(1024))),
  audience: z.optional(z.string().check(z.maxLength(256))),
  requested_token_type: z.optional(z.string().check(z.maxLength(256))),
  scope: z.optional(z.string().check(z.maxLength(1024))),
});

export const tokenExchangeResponseSchema = z.object({
  access_token: z.string(),
  issued_token_type: z.enum([ACCESS_TOKEN_TYPE, API_KEY_TOKEN_TYPE]),
  token_type: z.literal('N_A'),
});

export type TokenExchangeRequest = z.infer<typeof tokenExchangeSchema>;
