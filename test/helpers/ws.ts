import WebSocket from 'ws';
import type { Invoke } from '../../local/gateway/types.js';

export interface ConnectOptions {
  headers?: Record<string, string>;
  protocols?: string[];
}

/** A refused handshake as the client sees it (wscat: `Unexpected server response: 401`). */
export interface Refusal {
  status: number;
  body: string;
}

/** A real `ws` client that keeps every text message it receives, so tests can await them in order. */
export class WsClient {
  readonly messages: string[] = [];
  /** Resolves with the close code and reason the client received. */
  readonly closed: Promise<{ code: number; reason: string }>;
  #read = 0;
  #wake: (() => void)[] = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data, isBinary) => {
      this.messages.push(isBinary ? `<binary ${String(data)}>` : String(data));
      for (const wake of this.#wake.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => {
      socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
  }

  /** Opens a connection; rejects if the handshake is refused or fails. */
  static connect(url: string, options: ConnectOptions = {}): Promise<WsClient> {
    const socket = new WebSocket(url, options.protocols ?? [], { headers: options.headers });
    return new Promise((resolve, reject) => {
      const client = new WsClient(socket);
      socket.once('open', () => resolve(client));
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) => {
        reject(new Error(`Unexpected server response: ${res.statusCode}`));
        socket.terminate();
      });
    });
  }

  /** Expects the handshake to be refused; resolves with the HTTP status and body. */
  static refused(url: string, options: ConnectOptions = {}): Promise<Refusal> {
    const socket = new WebSocket(url, options.protocols ?? [], { headers: options.headers });
    return new Promise((resolve, reject) => {
      socket.once('open', () => {
        socket.terminate();
        reject(new Error('handshake was accepted'));
      });
      socket.once('error', reject);
      socket.once('unexpected-response', (req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body });
          req.destroy();
        });
      });
    });
  }

  send(text: string): void {
    this.socket.send(text);
  }

  /** The next message not yet read by `next`. */
  async next(timeoutMs = 2_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.#read >= this.messages.length) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message within ${timeoutMs} ms (got ${this.messages.length})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.messages[this.#read++] as string;
  }

  async close(code?: number, reason?: string): Promise<{ code: number; reason: string }> {
    this.socket.close(code, reason);
    return this.closed;
  }
}

export type FakeFunction = (event: unknown) => unknown;

/**
 * An `Invoke` over plain functions keyed by functionId, recording every event it was given. A thrown error becomes
 * a failed invocation the way the Lambda runtime reports one (`{ name, message, requestId }`).
 */
export function fakeInvoke(functions: Record<string, FakeFunction>) {
  const calls: { functionId: string; event: unknown }[] = [];
  const invoke: Invoke = async (functionId, event) => {
    calls.push({ functionId, event });
    const fn = functions[functionId];
    if (!fn) throw new Error(`no fake function ${functionId}`);
    try {
      return { ok: true, value: await fn(event) };
    } catch (error) {
      const { name, message } = error as Error;
      return { ok: false, error: { name, message, requestId: 'fake-request-id' } };
    }
  };
  return { invoke, calls };
}
