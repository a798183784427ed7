import type { Connection } from './connections.js';

/**
 * Starts a close initiated by the gateway (quota, timeout, DeleteConnection, stop). The code and reason are
 * remembered for `$disconnect`, since the client's echo may never be read. Messages that arrive after this are
 * ignored, as the connection is no longer `open`.
 */
export function closeByGateway(connection: Connection, code: number, reason: string): void {
  if (connection.state === 'closing') return;
  connection.state = 'closing';
  connection.closedByGateway = { code, reason };
  connection.socket?.close(code, reason);
}
