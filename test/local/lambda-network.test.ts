import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LambdaRuntime } from '../../local/lambda/index.js';
import { Spy } from '../../local/spy.js';
import type { FunctionModel } from '../../local/template/types.js';

const root = mkdtempSync(join(tmpdir(), 'postbox-network-'));
writeFileSync(join(root, 'package.json'), JSON.stringify({ type: 'module' }));
const API_HOST = 'abcde12345.execute-api.us-east-1.amazonaws.com';

function fn(id: string, code: string): FunctionModel {
  const taskRoot = join(root, `asset.${id}`);
  mkdirSync(taskRoot, { recursive: true });
  writeFileSync(join(taskRoot, 'index.mjs'), code);
  return {
    logicalId: id,
    path: `Test/${id}/Resource`,
    name: `Test-${id}`,
    displayName: id,
    arn: `arn:aws:lambda:us-east-1:000000000000:function:Test-${id}`,
    handler: 'index.handler',
    taskRoot,
    handlerFile: join(taskRoot, 'index.mjs'),
    handlerExport: 'handler',
    runtime: 'nodejs24.x',
    timeoutSeconds: 10,
    memoryMb: 128,
    environment: {},
  };
}

const functions = [
  // AWS's samples build the Management API endpoint from the event, not from an environment variable.
  fn(
    'Sample',
    `import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
export const handler = async (event) => {
  const { domainName, stage, connectionId } = event.requestContext;
  const client = new ApiGatewayManagementApiClient({ endpoint: \`https://\${domainName}/\${stage}\` });
  await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'hi' }));
  return 'posted';
};`,
  ),
  fn(
    'Raw',
    `import { request } from 'node:https';
export const handler = async () => {
  const viaHttps = await new Promise((resolve) => {
    const req = request('https://sns.us-east-1.amazonaws.com/', () => resolve('answered'));
    req.on('error', (err) => resolve({ name: err.name, code: err.code, message: err.message }));
    req.end();
  });
  const viaFetch = await fetch('https://s3.amazonaws.com/bucket').then(
    () => 'answered',
    (err) => ({ name: err.cause?.name, message: err.cause?.message }),
  );
  const routedFetch = await fetch('https://${API_HOST}/live/ping').then((r) => r.text());
  return { viaHttps, viaFetch, routedFetch };
};`,
  ),
];

describe("a local function's requests to AWS hosts", () => {
  const received: { method?: string; url?: string; body: string }[] = [];
  let server: Server;
  let runtime: LambdaRuntime;

  beforeAll(async () => {
    server = createServer(async (req: IncomingMessage, res) => {
      received.push({ method: req.method, url: req.url, body: (await buffer(req)).toString() });
      res.end('pong');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    runtime = new LambdaRuntime({
      functions,
      environment: () => ({ AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' }),
      routes: () => ({ local: { [API_HOST]: `http://127.0.0.1:${port}` } }),
      spy: new Spy(),
      sink: () => {},
    });
  });
  afterAll(async () => {
    await runtime?.stop();
    await new Promise((resolve) => server?.close(resolve));
    rmSync(root, { recursive: true, force: true });
  });

  it("sends the API's own execute-api host to the local gateway, however the endpoint was built", async () => {
    const event = { requestContext: { domainName: API_HOST, stage: 'live', connectionId: 'R1kmxc2VNjMCFIA=' } };
    expect(await runtime.invoke('Sample', event)).toEqual({ ok: true, value: 'posted' });
    expect(received).toContainEqual({ method: 'POST', url: '/live/@connections/R1kmxc2VNjMCFIA%3D', body: 'hi' });
  });

  it('refuses any other AWS host at once, naming it, from node:https and from fetch', async () => {
    const result = await runtime.invoke('Raw', {});
    expect(result).toMatchObject({
      ok: true,
      value: {
        viaHttps: {
          name: 'LocalEndpointError',
          code: 'ERR_AWS_HOST_NOT_LOCAL',
          message: expect.stringMatching(/^sns\.us-east-1\.amazonaws\.com: no local "sns" service runs here/),
        },
        viaFetch: { name: 'LocalEndpointError', message: expect.stringMatching(/^s3\.amazonaws\.com: no local "s3"/) },
        routedFetch: 'pong',
      },
    });
  });
});
