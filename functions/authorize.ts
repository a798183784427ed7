import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { APIGatewayRequestAuthorizerEvent, Context } from 'aws-lambda';
import { CAPABILITIES_CONTEXT_KEY, capabilitiesSchema } from './lib/capabilities.js';
import { numberEnv, requireEnv } from './lib/env.js';
import { logger } from './lib/logger.js';
import { verifyToken } from './lib/token.js';

const secretArn = requireEnv('TOKEN_SECRET_ARN');
const secrets = new SecretsManagerClient({});
const maxLifetimeSeconds = numberEnv('MAX_TOKEN_LIFETIME_SECONDS', 86_400);
const options = {
  maxLifetimeSeconds,
  defaultCaps: capabilitiesSchema.parse(JSON.parse(process.env.DEFAULT_CAPS || '{}')),
  issuer: process.env.TOKEN_ISSUER || undefined,
  audience: process.env.TOKEN_AUDIENCE || undefined,
  clockToleranceSeconds: numberEnv('TOKEN_CLOCK_TOLERANCE_SECONDS', 30),
};
/** How long a container trusts the keys it read: a rotated secret is seen within this, or at its first token. */
const keyCacheMs = numberEnv('KEY_CACHE_SECONDS', 300) * 1000;
/** How long after a rotation tokens signed with the previous key still pass: those minted just before it live on. */
const graceMs = numberEnv('TOKEN_KEY_GRACE_SECONDS', maxLifetimeSeconds) * 1000;
/** A token that fails the cached keys makes the container read them again, but not more often than this. */
const rereadMs = numberEnv('KEY_REREAD_SECONDS', 5) * 1000;

interface Keys {
  /** The current key first, then the previous one while its grace lasts. */
  keys: string[];
  readAt: number;
}
let cached: Promise<Keys> | undefined;

/**
 * `$connect` REQUEST authorizer: the `token` query parameter must be an HS256 JWT signed with the stack's secret,
 * with `sub` (the clientId) and `exp` no further than the stack's maximum lifetime from `iat`; `iss` and `aud` when
 * the stack sets them. Its `caps` claim (or the stack's default) travels in the context to every route. Throwing
 * "Unauthorized" makes API Gateway refuse the handshake with 401.
 */
export const handler = async (event: APIGatewayRequestAuthorizerEvent, context: Context) => {
  logger.addContext(context);
  const token = event.queryStringParameters?.token ?? undefined;
  let keys = await currentKeys();
  let check = await verifyToken(keys.keys, token, options);
  if (!check.ok && check.reason === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' && Date.now() - keys.readAt >= rereadMs) {
    // Signed with a key this container has not seen yet: the secret may have been rotated since it read it.
    cached = undefined;
    keys = await currentKeys();
    check = await verifyToken(keys.keys, token, options);
  }
  if (!check.ok) {
    logger.info('connect refused', { reason: check.reason });
    throw new Error('Unauthorized');
  }
  logger.info('connect allowed', { clientId: check.clientId });
  return {
    principalId: check.clientId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }],
    },
    // Context values must be strings, numbers or booleans: the capabilities go as JSON.
    context: { clientId: check.clientId, [CAPABILITIES_CONTEXT_KEY]: JSON.stringify(check.caps) },
  };
};

async function currentKeys(): Promise<Keys> {
  cached ??= readKeys();
  const keys = await cached;
  if (Date.now() - keys.readAt <= keyCacheMs) return keys;
  cached = readKeys();
  return cached;
}

async function readKeys(): Promise<Keys> {
  try {
    const readAt = Date.now();
    const current = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
    if (!current.SecretString) throw new Error(`secret ${secretArn} has no SecretString`);
    const rotatedAt = current.CreatedDate?.getTime() ?? 0;
    if (readAt - rotatedAt > graceMs) return { keys: [current.SecretString], readAt };
    const previous = await secrets
      .send(new GetSecretValueCommand({ SecretId: secretArn, VersionStage: 'AWSPREVIOUS' }))
      .catch((err: unknown) => {
        if (err instanceof ResourceNotFoundException) return undefined;
        throw err;
      });
    return { keys: [current.SecretString, ...(previous?.SecretString ? [previous.SecretString] : [])], readAt };
  } catch (err) {
    cached = undefined;
    throw err;
  }
}
