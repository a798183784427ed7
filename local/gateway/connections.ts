import { WebSocket } from 'ws';

export interface Identity {
  sourceIp: string;
  userAgent?: string;
}

/**
 * One connection, keyed by the connectionId the gateway generated. `connecting` covers the authorizer and the
 * `$connect` integration: API Gateway answers 410 to `@connections` calls until `$connect` has succeeded
 * (https://repost.aws/knowledge-center/410-gone-api-gateway).
 */
export interface Connection {
  readonly id: string;
  readonly connectedAt: number;
  readonly identity: Identity;
  state: 'connecting' | 'open' | 'closing';
  lastActiveAt: number;
  /** `requestContext.authorizer` for every event after the authorizer allowed the connection. */
  authorizer?: Record<string, unknown>;
  socket?: WebSocket;
  /** Set when the gateway (not the client) closed the socket: the code and reason `$disconnect` reports. */
  closedByGateway?: { code: number; reason: string };
}

/** The gateway's connections; entries are removed when the socket closes or the handshake fails. */
export class ConnectionRegistry {
  readonly #byId = new Map<string, Connection>();

  add(connection: Connection): void {
    if (this.#byId.has(connection.id)) throw new Error(`duplicate connectionId ${connection.id}`);
    this.#byId.set(connection.id, connection);
  }

  get(id: string): Connection | undefined {
    return this.#byId.get(id);
  }

  /** The connection only if its handshake finished and neither side has started closing it. */
  open(id: string): (Connection & { socket: WebSocket }) | undefined {
    const connection = this.#byId.get(id);
    if (connection?.state !== 'open' || connection.socket?.readyState !== WebSocket.OPEN) return undefined;
    return connection as Connection & { socket: WebSocket };
  }

  delete(id: string): void {
    this.#byId.delete(id);
  }

  all(): Connection[] {
    return [...this.#byId.values()];
  }
}
