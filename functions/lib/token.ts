import { errors, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { type Capabilities, capabilitiesSchema, FULL_ACCESS } from './capabilities.js';

const ALGORITHM = 'HS256';
/** The longest clientId (`sub`): the protocol's bound on a client id. */
const MAX_SUB_LENGTH = 128;

export interface MintOptions {
  /** The `caps` claim; `null` leaves it out, so the stack's default capabilities apply. */
  caps?: Capabilities | null;
  issuer?: string;
  audience?: string;
}

/**
 * Signs a connect token for `clientId`: an HS256 JWT whose `sub` is the clientId, expiring after `ttl` (jose time
 * span, e.g. "1h"), allowing everything unless `options.caps` says otherwise.
 */
export async function mintToken(
  secret: string,
  clientId: string,
  ttl = '1h',
  options: MintOptions = {},
): Promise<string> {
  const caps = options.caps === undefined ? FULL_ACCESS : options.caps;
  const jwt = new SignJWT(caps === null ? {} : { caps })
    .setProtectedHeader({ alg: ALGORITHM })
    .setSubject(clientId)
    .setIssuedAt()
    .setExpirationTime(ttl);
  if (options.issuer) jwt.setIssuer(options.issuer);
  if (options.audience) jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}

export interface VerifyOptions {
  /** Longest a token may live: `exp` after `iat` (or, without `iat`, after now). */
  maxLifetimeSeconds: number;
  /** What a token without a `caps` claim may do. */
  defaultCaps: Capabilities;
  /** Checked when set. */
  issuer?: string;
  audience?: string;
  /** Clocks of the token's minter and the authorizer may differ by this much (`exp`, `nbf`, `iat`). */
  clockToleranceSeconds?: number;
}

export type TokenCheck = { ok: true; clientId: string; caps: Capabilities } | { ok: false; reason: string };

/**
 * Verifies a connect token against each of `secrets` in turn (the current signing key first, then a previous one
 * still in its grace period). `exp` and `sub` are required so that a leaked token cannot live for ever.
 */
export async function verifyToken(
  secrets: string | string[],
  token: string | undefined,
  options: VerifyOptions = { maxLifetimeSeconds: 86_400, defaultCaps: {} },
): Promise<TokenCheck> {
  if (!token) return { ok: false, reason: 'no token' };
  const keys = typeof secrets === 'string' ? [secrets] : secrets;
  let payload: JWTPayload | undefined;
  let reason = 'no signing key';
  for (const key of keys) {
    try {
      ({ payload } = await jwtVerify(token, new TextEncoder().encode(key), {
        algorithms: [ALGORITHM],
        requiredClaims: ['exp', 'sub'],
        issuer: options.issuer,
        audience: options.audience,
        clockTolerance: options.clockToleranceSeconds ?? 30,
      }));
      break;
    } catch (err) {
      if (!(err instanceof errors.JOSEError)) throw err;
      reason = err.code;
      // Only a bad signature is worth trying the next key with.
      if (!(err instanceof errors.JWSSignatureVerificationFailed)) return { ok: false, reason };
    }
  }
  if (!payload) return { ok: false, reason };
  if (typeof payload.sub !== 'string' || payload.sub.length === 0) return { ok: false, reason: 'sub is empty' };
  if (payload.sub.length > MAX_SUB_LENGTH) return { ok: false, reason: `sub is longer than ${MAX_SUB_LENGTH}` };
  const lifetime = (payload.exp as number) - (payload.iat ?? Math.floor(Date.now() / 1000));
  if (lifetime > options.maxLifetimeSeconds)
    return { ok: false, reason: `lives ${lifetime} s; the stack allows at most ${options.maxLifetimeSeconds} s` };
  if (payload.caps === undefined) return { ok: true, clientId: payload.sub, caps: options.defaultCaps };
  const caps = capabilitiesSchema.safeParse(payload.caps);
  if (!caps.success) return { ok: false, reason: `caps: ${caps.error.issues[0]?.message ?? 'malformed'}` };
  return { ok: true, clientId: payload.sub, caps: caps.data };
}
