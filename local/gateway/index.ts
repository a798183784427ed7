import { createServer, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { listen } from '../net.js';
import { serveAsset } from './assets.js';
import { closeByGateway } from './closeConnection.js';
import { ConnectionRegistry } from './connections.js';
import { routeConnections } from './connectionsRouter.js';
import type { GatewayContext } from './context.js';
import { ConnectionFaults } from './faults.js';
import { type ChosenProtocols, handleUpgrade, refuseUpgrade } from './handshake.js';
import { defaultDeps, type GatewayDeps } from './ids.js';
import { resolveLimits } from './limits.js';
import { Tasks } from './tasks.js';
import type { Gateway, StartGatewayOptions } from './types.js';

export type * from './types.js';

/** How long `stop()` waits for clients to answer the close and for `$disconnect` to run. */
const STOP_GRACE_MS = 2_000;

/**
 * Starts the local API Gateway WebSocket API: one HTTP server on `host:port` (0 picks a free port) serving the
 * WebSocket API on any path (`/` or `/{stage}`) and the `@connections` Management API under
 * `/{stage}/@connections/{id}`.
 *
 * @example
 * const gateway = await startGateway({ port: 0, host: '127.0.0.1', api, invoke, spy, region: 'us-east-1' });
 * // clients: new WebSocket(`${gateway.url}/?token=…`); handlers: endpoint `${gateway.httpUrl}/${api.stage}`
 */
export function startGateway(options: StartGatewayOptions): Promise<Gateway> {
  return createGateway(options, defaultDeps);
}

/** `startGateway` with injected time and randomness. */
export async function createGateway(options: StartGatewayOptions, deps: GatewayDeps): Promise<Gateway> {
  const report = (error: unknown, where: string) => console.error(`[gateway] ${where}:`, error);
  const ctx: GatewayContext = {
    api: options.api,
    messageRouteKeys: new Set([...options.api.routes.keys()].filter((k) => k !== '$connect' && k !== '$disconnect')),
    invoke: options.invoke,
    spy: options.spy,
    limits: resolveLimits(options.limits),
    region: options.region,
    target: {
      apiId: options.api.apiId,
      stage: options.api.stage,
      domainName: options.domainName ?? `${options.api.apiId}.execute-api.${options.region}.amazonaws.com`,
    },
    deps,
    connections: new ConnectionRegistry(),
    tasks: new Tasks(report),
    faults: new ConnectionFaults(),
    report,
  };
  const protocols: ChosenProtocols = new WeakMap();
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: ctx.limits.maxMessageBytes,
    // Only what `$connect` chose is echoed; without a choice the header is omitted and browsers fail, as on AWS.
    handleProtocols: (_offered, req) => protocols.get(req) ?? false,
  });

  const server = createServer((req, res) => {
    if (serveAsset(options.assets, req, res)) return;
    routeConnections(ctx, req, res).catch((error: unknown) => {
      report(error, `${req.method} ${req.url}`);
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  // Every upgraded socket until it closes, so `stop()` can end even handshakes still waiting on `$connect`.
  const sockets = new Set<Duplex>();
  server.on('upgrade', (req, socket, head: Buffer) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // Node drops its own error listener at 'upgrade' and ws adds one only in handleUpgrade: a client resetting while
    // the authorizer or $connect runs would otherwise crash the process. The handshake sees `socket.destroyed`.
    socket.on('error', () => socket.destroy());
    ctx.tasks.run(`handshake ${req.url}`, () =>
      handleUpgrade(ctx, wss, protocols, { req, socket, head }).catch((error: unknown) => {
        refuseUpgrade(socket, 500);
        throw error;
      }),
    );
  });

  const port = await listen(server, options.port, options.host);
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `ws://${host}:${port}`,
    httpUrl: `http://${host}:${port}`,
    port,
    faults: ctx.faults,
    stop: () => stop(ctx, server, sockets),
  };
}

/** Closes every connection with 1001 (running `$disconnect`, within a bound), then the server. */
async function stop(ctx: GatewayContext, server: Server, sockets: Set<Duplex>): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  for (const connection of ctx.connections.all()) closeByGateway(connection, 1001, 'Going away');
  await ctx.tasks.drain(STOP_GRACE_MS);
  for (const socket of sockets) socket.destroy();
  server.closeAllConnections();
  await closed;
  // Sockets destroyed above close on the next turns; give their `$disconnect` its chance too.
  await ctx.tasks.drain(STOP_GRACE_MS);
}
