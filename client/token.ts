import type { Clock } from './timing.js';

export type TokenOptions =
  | { token: string; getToken?: never }
  | { getToken: () => string | Promise<string>; token?: never };

/** A token fetched this close to its `exp` is replaced before a connect: the handshake itself takes time. */
const EXPIRY_MARGIN_MS = 30_000;

/**
 * The connect token: a fixed one, or one from `getToken`, fetched again before a connect when the one held expires
 * within 30 s, and after a handshake that failed. Browsers do not expose a refused handshake's status (a 401 looks
 * like any network failure), so any failed handshake counts as a possible refusal: one `getToken` call per failed
 * attempt, spaced by the reconnect backoff.
 */
export class TokenSource {
  #token: string | undefined;
  #stale = false;

  constructor(
    private readonly options: TokenOptions,
    private readonly clock: Clock,
  ) {
    this.#token = options.token;
  }

  async current(): Promise<string> {
    const { getToken } = this.options;
    if (getToken && (this.#token === undefined || this.#stale || this.#expiresSoon(this.#token))) {
      this.#token = await getToken();
      this.#stale = false;
    }
    if (this.#token === undefined) throw new Error('connect: give token or getToken');
    return this.#token;
  }

  /** The handshake failed: the next `current()` asks `getToken` again. */
  refused(): void {
    this.#stale = true;
  }

  #expiresSoon(token: string): boolean {
    const exp = expiryOf(token);
    return exp !== undefined && exp * 1000 - this.clock.now() < EXPIRY_MARGIN_MS;
  }
}

/** The `exp` claim (seconds) of a JWT, read without verifying it: only the server can, and only this is needed. */
export function expiryOf(token: string): number | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const json = atob(
      part
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .padEnd(Math.ceil(part.length / 4) * 4, '='),
    );
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp : undefined;
  } catch {
    return undefined;
  }
}
