import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocal } from '../../local/index.js';
import { startupReport } from '../../local/lambda/startup-report.js';
import type { FunctionModel } from '../../local/template/types.js';
import { functionModel } from '../helpers/function-model.js';

/**
 * SDK v2 in other people's bundles. What fails was measured with the real packages (aws-sdk 2.814.0, 2.1400.0,
 * 2.1490.0, 2.1491.0 and 2.1693.0, each a function running SQS sendMessage/receiveMessage and DocumentClient
 * put/get here); these tests keep the parts of it that do not need the 90 MB package: the report, and the requests
 * the SDK makes, sent as it sends them.
 */
const root = mkdtempSync(join(tmpdir(), 'postbox-sdkv2-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A function asset; `sdkVersion` ships a minimal `node_modules/aws-sdk` (its package.json only) beside it. */
function asset(dir: string, code: string, sdkVersion?: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.js'), code);
  if (sdkVersion) {
    mkdirSync(join(dir, 'node_modules', 'aws-sdk'), { recursive: true });
    writeFileSync(
      join(dir, 'node_modules', 'aws-sdk', 'package.json'),
      JSON.stringify({ name: 'aws-sdk', version: sdkVersion, main: 'lib/aws.js' }),
    );
  }
  return dir;
}

function fn(id: string, code: string, sdkVersion?: string): FunctionModel {
  return functionModel(id, asset(join(root, `asset.${id}`), code, sdkVersion));
}

/** The shape esbuild gives SDK v2's core and SQS model when it bundles `require("aws-sdk")` (minified). */
const bundled = (version: string, sqsProtocol?: 'query' | 'json') =>
  `var bt={util:ge()};zd.exports=bt;bt.util.update(bt,{VERSION:"${version}",Signers:{},Protocol:{Json:Vr()}});` +
  (sqsProtocol
    ? `var sqsModel={version:"2.0",metadata:{apiVersion:"2012-11-05",endpointPrefix:"sqs",protocol:"${sqsProtocol}",serviceId:"SQS"}};`
    : '') +
  'exports.handler=async()=>1;';

const QUERY_LINE =
  /^App\/\w+\/Resource: its (?:bundle holds|node_modules hold) AWS SDK v2 (2\.\d+\.\d+), whose SQS client sends SQS's older query protocol \(form-encoded Action=SendMessage\), which the embedded SQS does not serve, so its SQS calls fail locally with "InvalidAction: Unknown action" \(on AWS they work\): upgrade aws-sdk to 2\.1491\.0 or later, or move to @aws-sdk\/client-sqs \(v3\)\.$/;

describe('start-up report of SDK v2 in a function', () => {
  it('names an aws-sdk before 2.1491.0 shipped in node_modules, by the version in its package.json', () => {
    const [line, ...rest] = startupReport(fn('Shipped', 'exports.handler = async () => 1;', '2.1400.0'));
    expect(rest).toEqual([]);
    expect(line).toMatch(QUERY_LINE);
    expect(line).toContain('App/Shipped/Resource: its node_modules hold AWS SDK v2 2.1400.0,');
    expect(startupReport(fn('ShippedOld', '', '2.1490.0'))).toEqual([expect.stringMatching(QUERY_LINE)]);
    expect(startupReport(fn('ShippedNew', '', '2.1491.0'))).toEqual([]);
    expect(startupReport(fn('ShippedNewer', '', '2.1693.0'))).toEqual([]);
  });

  it('names SDK v2 bundled into the handler whose SQS model is on the query protocol, and no other', () => {
    expect(startupReport(fn('Bundled', bundled('2.1400.0', 'query')))).toEqual([
      expect.stringMatching(/^App\/Bundled\/Resource: its bundle holds AWS SDK v2 2\.1400\.0, whose SQS client/),
    ]);
    expect(startupReport(fn('BundledJson', bundled('2.1693.0', 'json')))).toEqual([]);
    // Only DynamoDB bundled (`aws-sdk/clients/dynamodb`): nothing of SQS to fail, and DynamoDB works on every v2.
    expect(startupReport(fn('BundledNoSqs', bundled('2.1400.0')))).toEqual([]);
  });

  it('says nothing of it against LocalStack, which serves the query protocol', () => {
    expect(startupReport(fn('OnLocalStack', bundled('2.1400.0', 'query')), { backend: 'localstack' })).toEqual([]);
  });
});

/**
 * One function that posts to its queue as SDK v2 does (requests captured from aws-sdk 2.1400.0 and 2.1693.0): to
 * `/` on the host of the `QueueUrl` it was given (SDK v2 sends every queue operation there, where SDK v3 follows
 * `AWS_ENDPOINT_URL_SQS`), in the JSON protocol of 2.1491.0 and later, or the query protocol of the releases before.
 */
const V2_STYLE = `const http = require('node:http');
const post = (path, headers, body) => new Promise((resolve, reject) => {
  const url = new URL(process.env.QUEUE_URL);
  const req = http.request({ hostname: url.hostname, port: url.port, path, method: 'POST', headers }, (res) => {
    let text = '';
    res.on('data', (chunk) => { text += chunk; });
    res.on('end', () => resolve({ status: res.statusCode, body: text }));
  });
  req.on('error', (err) => resolve({ error: err.code ?? err.name, message: err.message }));
  req.end(body);
});
exports.handler = async (event) => {
  const queueUrl = process.env.QUEUE_URL;
  if (event.protocol === 'json') {
    return post('/', { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': 'AmazonSQS.SendMessage' },
      JSON.stringify({ QueueUrl: queueUrl, MessageBody: event.body }));
  }
  const form = new URLSearchParams({ Action: 'SendMessage', MessageBody: event.body, QueueUrl: queueUrl, Version: '2012-11-05' });
  return post('/', { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' }, form.toString());
};`;

function v2Assembly(): string {
  const dir = join(root, 'assembly');
  asset(join(dir, 'asset.v2style'), V2_STYLE);
  asset(join(dir, 'asset.shipped'), 'exports.handler = async () => 1;', '2.1400.0');
  const fnResource = (assetPath: string, path: string) => ({
    Type: 'AWS::Lambda::Function',
    Properties: {
      Handler: 'index.handler',
      Runtime: 'nodejs24.x',
      Code: { S3Bucket: 'b', S3Key: `${assetPath}.zip` },
      Environment: { Variables: { QUEUE_URL: { Ref: 'Queue' } } },
    },
    Metadata: { 'aws:cdk:path': path, 'aws:asset:path': assetPath },
  });
  const Resources = {
    Queue: { Type: 'AWS::SQS::Queue', Properties: {}, Metadata: { 'aws:cdk:path': 'V2/Queue/Resource' } },
    V2Style: fnResource('asset.v2style', 'V2/V2Style/Resource'),
    Shipped: fnResource('asset.shipped', 'V2/Shipped/Resource'),
    Api: {
      Type: 'AWS::ApiGatewayV2::Api',
      Properties: { Name: 'ws', ProtocolType: 'WEBSOCKET', RouteSelectionExpression: '$request.body.action' },
    },
    Stage: { Type: 'AWS::ApiGatewayV2::Stage', Properties: { ApiId: { Ref: 'Api' }, StageName: 'prod' } },
  };
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({ artifacts: { V2: { type: 'aws:cloudformation:stack' } } }),
  );
  writeFileSync(join(dir, 'V2.template.json'), JSON.stringify({ Resources }));
  return dir;
}

describe('an app with SDK v2 functions on npm start', () => {
  let local: LocalStack;
  const lines: string[] = [];

  beforeAll(async () => {
    local = await startLocal({ port: 0, cdkOut: v2Assembly(), inMemory: true, logSink: (line) => lines.push(line) });
  });
  afterAll(async () => {
    await local?.stop();
  });

  it('reports the old SDK at start-up, before any invocation, with the CDK path', () => {
    expect(local.spy.events({ kind: 'invoke' })).toEqual([]);
    expect(lines.filter((line) => line.includes('AWS SDK v2'))).toEqual([
      expect.stringMatching(/^\[local\] V2\/Shipped\/Resource: its node_modules hold AWS SDK v2 2\.1400\.0, /),
    ]);
  });

  it("delivers a JSON-protocol SendMessage sent to the queue URL's own host into the local queue", async () => {
    const sent = await local.invoke('V2Style', { protocol: 'json', body: 'from v2' });
    expect(sent).toMatchObject({ ok: true, value: { status: 200 } });
    const queueUrl = String(local.model.physical.get('Queue')?.attributes.QueueUrl);
    const sqs = new SQSClient({
      region: 'us-east-1',
      endpoint: local.endpoints.sqs,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      useQueueUrlAsEndpoint: false,
    });
    try {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 2, MaxNumberOfMessages: 10 }),
      );
      expect(Messages.map((m) => m.Body)).toEqual(['from v2']);
    } finally {
      sqs.destroy();
    }
  });

  it('is answered InvalidAction for the query protocol, which the report says of SDK v2 before 2.1491.0', async () => {
    const sent = await local.invoke('V2Style', { protocol: 'query', body: 'from old v2' });
    expect(sent).toMatchObject({ ok: true, value: { status: 400 } });
    // The SNS side of fauxqs takes form-encoded requests and answers in its XML, which SDK v2 parses as this error.
    const body = (sent as { value: { body: string } }).value.body;
    expect(body).toMatch(/<Code>InvalidAction<\/Code>/);
    expect(body).toMatch(/<Message>Unknown action: SendMessage<\/Message>/);
  });
});
