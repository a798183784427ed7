import { errors, jwtVerify, SignJWT } from 'jose';

const ALGORITHM = 'HS256';

/** Signs a connect token for `clientId`: an HS256 JWT whose `sub` is the clientId, expiring after `ttl` (jose time span, e.g. "1h"). */
export async function mintToken(secret: string, clientId: string, ttl = '1h'): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: ALGORITHM })
    .setSubject(clientId)
    .setIssuedAt()
    .setExpirationTime(ttl)
    .sign(new TextEncoder().encode(secret));
}

export type TokenCheck = { ok: true; clientId: string } | { ok: false; reason: string };

/** Verifies a connect token; `exp` is required so that a leaked token cannot live for ever. */
export async function verifyToken(secret: string, token: string | undefined): Promise<TokenCheck> {
  if (!token) return { ok: false, reason: 'no token' };
  try {
    const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), {
      algorithms: [ALGORITHM],
      requiredClaims: ['exp', 'sub'],
    });
    if (typeof payload.sub !== 'string' || payload.sub.length === 0) return { ok: false, reason: 'sub is empty' };
    return { ok: true, clientId: payload.sub };
  } catch (err) {
    if (err instanceof errors.JOSEError) return { ok: false, reason: err.code };
    throw err;
  }
}
