import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP relay on 127.0.0.1 in front of the local gateway, so a test can cut a client's network as a phone in a
 * tunnel does: no WebSocket close frame, no FIN from the server, or every new connection refused.
 */
export class NetworkProxy {
  readonly #pairs = new Set<[Socket, Socket]>();
  /** Pairs that pass nothing either way, yet stay open: a peer gone without a FIN. */
  readonly #frozen = new Set<[Socket, Socket]>();
  #offline = false;
  /** Server → client data containing this text ends the connection instead of reaching the client. */
  #dropReplyWith: string | undefined;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<NetworkProxy> {
    let proxy: NetworkProxy | undefined;
    const server = createServer((client) => proxy?.accept(client, target));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('proxy has no port');
    proxy = new NetworkProxy(server, address.port);
    return proxy;
  }

  /** `ws://127.0.0.1:<proxy port>` */
  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  private accept(client: Socket, target: { host: string; port: number }): void {
    if (this.#offline) {
      client.destroy();
      return;
    }
    const upstream = createConnection(target);
    const pair: [Socket, Socket] = [client, upstream];
    this.#pairs.add(pair);
    const end = () => {
      this.#pairs.delete(pair);
      this.#frozen.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.on('data', (chunk) => {
      if (!this.#frozen.has(pair)) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (this.#frozen.has(pair)) return;
      if (this.#dropReplyWith && chunk.toString('latin1').includes(this.#dropReplyWith)) {
        this.#dropReplyWith = undefined;
        end();
        return;
      }
      client.write(chunk);
    });
  }

  /** Destroys every relayed connection on both sides: the client sees its socket end with no close frame. */
  sever(): void {
    for (const [client, upstream] of this.#pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.#pairs.clear();
  }

  /** Every open connection stops passing data but stays open, as when a network path dies silently. */
  freeze(): void {
    for (const pair of this.#pairs) this.#frozen.add(pair);
  }

  /** Offline: severs what is open and refuses new connections until `online()`. */
  offline(): void {
    this.#offline = true;
    this.sever();
  }

  online(): void {
    this.#offline = false;
  }

  /** The next server frame containing `text` is lost, and its connection with it (the server did act on it). */
  dropReplyContaining(text: string): void {
    this.#dropReplyWith = text;
  }

  /** How many connections it relays now. */
  get connections(): number {
    return this.#pairs.size;
  }

  async stop(): Promise<void> {
    this.sever();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
