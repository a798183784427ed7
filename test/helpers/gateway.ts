import { randomUUID } from 'node:crypto';
import { startGateway } from '../../local/gateway/index.js';
import type { GatewayApi, GatewayRoute } from '../../local/gateway/types.js';
import { Spy } from '../../local/spy.js';
import { lambdaContext } from './events.js';
import type { Handler } from './handlers.js';

/**
 * The local gateway with the real authorizer, $connect and $disconnect handlers invoked in-process: the handler
 * tests' @connections endpoint, with real sockets on the other side.
 */
export async function startHandlerGateway(handlers: { authorize: Handler; connect: Handler; disconnect: Handler }) {
  const authorizer = { name: 'token', functionId: 'authorize', identitySource: ['route.request.querystring.token'] };
  const routes = new Map<string, GatewayRoute>([
    ['$connect', { routeKey: '$connect', functionId: 'connect', twoWay: false, authorizer }],
    ['$disconnect', { routeKey: '$disconnect', functionId: 'disconnect', twoWay: false }],
  ]);
  const api: GatewayApi = {
    apiId: 'abcdef1234',
    name: 'postbox-test',
    stage: 'prod',
    routeSelectionExpression: '$request.body.action',
    routes,
  };
  const spy = new Spy();
  const gateway = await startGateway({
    port: 0,
    host: '127.0.0.1',
    api,
    spy,
    region: 'us-east-1',
    invoke: async (functionId, event) => {
      const handler = handlers[functionId as keyof typeof handlers];
      try {
        return { ok: true, value: await handler(event as never, lambdaContext(functionId)) };
      } catch (err) {
        return {
          ok: false,
          error: { name: (err as Error).name, message: (err as Error).message, requestId: randomUUID() },
        };
      }
    },
  });
  return { gateway, spy, callbackUrl: `${gateway.httpUrl}/${api.stage}` };
}
