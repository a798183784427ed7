import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostRoutes, LambdaRuntime } from '../../local/lambda/index.js';
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
  // SDK v2 ignores AWS_ENDPOINT_URL_* and signs for the regional hosts, SQS's legacy queue.amazonaws.com among them.
  fn(
    'V2Style',
    `import https from 'node:https';
const post = (host, target) => new Promise((resolve, reject) => {
  const req = https.request({ host, method: 'POST', path: '/', headers: { 'X-Amz-Target': target } }, (res) => {
    res.resume();
    res.on('end', () => resolve(res.statusCode));
  });
  req.on('error', reject);
  req.end('{}');
});
export const handler = async () => [
  await post('dynamodb.us-east-1.amazonaws.com', 'DynamoDB_20120810.ListTables'),
  await post('queue.amazonaws.com', 'AmazonSQS.ListQueues'),
  await post('secretsmanager.us-east-1.amazonaws.com', 'secretsmanager.ListSecrets'),
];`,
  ),
];

describe("a local function's requests to AWS hosts", () => {
  const received: { method?: string; url?: string; body: string; service?: string; target?: string }[] = [];
  const servers: Server[] = [];
  let runtime: LambdaRuntime;

  /** A stand-in for one local service: it records what it is sent, under its own name. */
  const serve = async (service: string): Promise<string> => {
    const server = createServer(async (req: IncomingMessage, res) => {
      const target = req.headers['x-amz-target'] as string | undefined;
      received.push({ method: req.method, url: req.url, body: (await buffer(req)).toString(), service, target });
      res.end('pong');
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  beforeAll(async () => {
    const [sqs, dynamodb, secretsManager, gateway] = await Promise.all(
      ['sqs', 'dynamodb', 'secretsmanager', 'gateway'].map(serve),
    );
    runtime = new LambdaRuntime({
      functions,
      environment: () => ({ AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' }),
      routes: () =>
        hostRoutes(
          'us-east-1',
          { sqs: sqs ?? '', dynamodb: dynamodb ?? '', secretsManager: secretsManager ?? '' },
          { apiId: API_HOST.split('.')[0] ?? '', gatewayBaseUrl: gateway ?? '' },
        ),
      spy: new Spy(),
      sink: () => {},
    });
  });
  afterAll(async () => {
    await runtime?.stop();
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    rmSync(root, { recursive: true, force: true });
  });

  it("sends the API's own execute-api host to the local gateway, however the endpoint was built", async () => {
    const event = { requestContext: { domainName: API_HOST, stage: 'live', connectionId: 'R1kmxc2VNjMCFIA=' } };
    expect(await runtime.invoke('Sample', event)).toEqual({ ok: true, value: 'posted' });
    expect(received).toContainEqual(
      expect.objectContaining({
        service: 'gateway',
        method: 'POST',
        url: '/live/@connections/R1kmxc2VNjMCFIA%3D',
        body: 'hi',
      }),
    );
  });

  it('sends the regional SQS, DynamoDB and Secrets Manager hosts to the local services, as SDK v2 names them', async () => {
    expect(await runtime.invoke('V2Style', {})).toEqual({ ok: true, value: [200, 200, 200] });
    const seen = received.filter((r) => r.target).map(({ service, target }) => ({ service, target }));
    expect(seen).toEqual([
      { service: 'dynamodb', target: 'DynamoDB_20120810.ListTables' },
      { service: 'sqs', target: 'AmazonSQS.ListQueues' },
      { service: 'secretsmanager', target: 'secretsmanager.ListSecrets' },
    ]);
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
