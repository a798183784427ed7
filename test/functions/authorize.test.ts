import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../functions/lib/token.js';
import { type Backend, startBackend } from '../helpers/backend.js';
import { authorizerEvent, lambdaContext } from '../helpers/events.js';
import { type Handler, loadHandlers } from '../helpers/handlers.js';

const ISSUER = 'https://auth.example.com';
const AUDIENCE = 'postbox';
/** Short, so a rotation's grace ends within the test. */
const GRACE_SECONDS = 3;

let backend: Backend;
let authorize: Handler;
beforeAll(async () => {
  backend = await startBackend();
  ({ authorize } = await loadHandlers(backend, ['authorize'] as const, {
    TOKEN_ISSUER: ISSUER,
    TOKEN_AUDIENCE: AUDIENCE,
    MAX_TOKEN_LIFETIME_SECONDS: String(7 * 86_400),
    DEFAULT_CAPS: JSON.stringify({ 'lobby/*': ['subscribe'] }),
    KEY_CACHE_SECONDS: '1',
    KEY_REREAD_SECONDS: '0.001',
    TOKEN_KEY_GRACE_SECONDS: String(GRACE_SECONDS),
  }));
});
afterAll(() => backend?.stop());

const check = (token: string) => authorize(authorizerEvent({ token }) as never, lambdaContext('a'));
const mint = (key: string, sub = 'ana', options: { ttl?: string; claims?: Record<string, unknown> } = {}) => {
  const jwt = new SignJWT(options.claims ?? {})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(options.ttl ?? '1h')
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE);
  return jwt.sign(new TextEncoder().encode(key));
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the $connect authorizer’s token rules', () => {
  it('passes the token’s caps on as JSON context, or the stack’s default when it has none', async () => {
    const own = await check(await mint(backend.tokenSecret, 'ana', { claims: { caps: { 'news/*': ['publish'] } } }));
    expect(own).toMatchObject({ principalId: 'ana', context: { clientId: 'ana', caps: '{"news/*":["publish"]}' } });
    const none = await check(await mint(backend.tokenSecret, 'ben'));
    expect(none).toMatchObject({ context: { caps: '{"lobby/*":["subscribe"]}' } });
  });

  it('checks iss and aud when the stack sets them, bounds sub and the lifetime, and allows 30 s of clock skew', async () => {
    const key = new TextEncoder().encode(backend.tokenSecret);
    const without = await mintToken(backend.tokenSecret, 'ana', '1h', { issuer: ISSUER });
    await expect(check(without)).rejects.toThrow(/^Unauthorized$/);
    const otherIssuer = await mintToken(backend.tokenSecret, 'ana', '1h', { issuer: 'evil', audience: AUDIENCE });
    await expect(check(otherIssuer)).rejects.toThrow(/^Unauthorized$/);
    await expect(check(await mint(backend.tokenSecret, 'x'.repeat(129)))).rejects.toThrow(/^Unauthorized$/);
    await expect(check(await mint(backend.tokenSecret, 'ana', { ttl: '8d' }))).rejects.toThrow(/^Unauthorized$/);
    expect(await check(await mint(backend.tokenSecret, 'ana', { ttl: '7d' }))).toMatchObject({ principalId: 'ana' });
    const now = Math.floor(Date.now() / 1000);
    const skewed = (exp: number) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('ana')
        .setIssuedAt(now - 600)
        .setExpirationTime(exp)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .sign(key);
    expect(await check(await skewed(now - 10))).toMatchObject({ principalId: 'ana' });
    await expect(check(await skewed(now - 60))).rejects.toThrow(/^Unauthorized$/);
  });

  it('follows a rotated secret at once, and takes the previous key for its grace period only', async () => {
    const oldKey = backend.tokenSecret;
    const oldToken = await mint(oldKey, 'ana');
    expect(await check(oldToken)).toMatchObject({ principalId: 'ana' });
    const secrets = new SecretsManagerClient({ endpoint: backend.env.AWS_ENDPOINT_URL_SECRETS_MANAGER });
    const newKey = 'rotated-signing-key-0123456789abcdef';
    await secrets.send(new PutSecretValueCommand({ SecretId: backend.env.TOKEN_SECRET_ARN, SecretString: newKey }));
    // Signed with a key the container has not read: it reads the secret again rather than refuse.
    expect(await check(await mint(newKey, 'ben'))).toMatchObject({ principalId: 'ben' });
    expect(await check(oldToken)).toMatchObject({ principalId: 'ana' });
    await sleep((GRACE_SECONDS + 1) * 1000);
    await expect(check(oldToken)).rejects.toThrow(/^Unauthorized$/);
    expect(await check(await mint(newKey, 'ben'))).toMatchObject({ principalId: 'ben' });
  });
});
