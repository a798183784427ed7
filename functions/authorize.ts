import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayRequestAuthorizerEvent, Context } from 'aws-lambda';
import { requireEnv } from './lib/env.js';
import { logger } from './lib/logger.js';
import { verifyToken } from './lib/token.js';

const secretArn = requireEnv('TOKEN_SECRET_ARN');
const secrets = new SecretsManagerClient({});
// Fetched once per container: the key only changes when the stack rotates the secret, which starts new containers.
let signingKey: Promise<string> | undefined;

/**
 * `$connect` REQUEST authorizer: the `token` query parameter must be an HS256 JWT signed with the stack's secret,
 * with `sub` (the clientId) and `exp`. Throwing "Unauthorized" makes API Gateway refuse the handshake with 401.
 */
export const handler = async (event: APIGatewayRequestAuthorizerEvent, context: Context) => {
  logger.addContext(context);
  signingKey ??= loadKey();
  const key = await signingKey;
  const check = await verifyToken(key, event.queryStringParameters?.token ?? undefined);
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
    context: { clientId: check.clientId },
  };
};

async function loadKey(): Promise<string> {
  try {
    const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
    if (!SecretString) throw new Error(`secret ${secretArn} has no SecretString`);
    return SecretString;
  } catch (err) {
    signingKey = undefined;
    throw err;
  }
}
