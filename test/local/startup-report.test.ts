import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocal } from '../../local/index.js';
import { startupReport } from '../../local/lambda/startup-report.js';
import type { FunctionModel } from '../../local/template/types.js';
import { functionModel } from '../helpers/function-model.js';

const root = mkdtempSync(join(tmpdir(), 'postbox-report-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const NOW = new Date('2026-12-03T12:00:00Z');

function fn(id: string, runtime: string, code: string, bundled: string[] = []): FunctionModel {
  const taskRoot = join(root, `asset.${id}`);
  mkdirSync(taskRoot, { recursive: true });
  writeFileSync(join(taskRoot, 'index.js'), code);
  for (const pkg of bundled) mkdirSync(join(taskRoot, 'node_modules', pkg), { recursive: true });
  return functionModel(id, taskRoot, runtime);
}

describe('start-up report of a function', () => {
  it('names a runtime past its Lambda deprecation, with the CDK path and the runtime to move to', () => {
    expect(startupReport(fn('Old', 'nodejs16.x', 'exports.handler = async () => 1;'), { now: NOW })).toEqual([
      "App/Old/Resource: runtime nodejs16.x is past AWS Lambda's deprecation (2024-06-12); it gets no security patches and AWS blocks creating and then updating functions on it: set its runtime to nodejs24.x (Runtime.NODEJS_24_X in CDK).",
    ]);
    expect(startupReport(fn('Twenty', 'nodejs20.x', ''), { now: NOW })).toEqual([
      expect.stringMatching(
        /^App\/Twenty\/Resource: runtime nodejs20\.x is past AWS Lambda's deprecation \(2026-04-30\)/,
      ),
    ]);
    expect(startupReport(fn('Ancient', 'nodejs8.10', ''), { now: NOW })).toHaveLength(1);
    expect(startupReport(fn('Current', 'nodejs24.x', ''), { now: NOW })).toEqual([]);
  });

  it('names SDK v2 left out of the bundle on a runtime that no longer provides it, and not once it is bundled', () => {
    const code = 'const AWS = require("aws-sdk"); exports.handler = async () => new AWS.SQS();';
    expect(startupReport(fn('V2', 'nodejs22.x', code), { now: NOW })).toEqual([
      `App/V2/Resource: its code imports aws-sdk, the AWS SDK v2, which Lambda stopped providing with nodejs18.x, and its bundle leaves it out, so on AWS it fails with "Cannot find module 'aws-sdk'": bundle it (take it out of the function's externalModules) or move to a package the runtime has (for the SDK, @aws-sdk/* v3).`,
    ]);
    expect(startupReport(fn('V2Bundled', 'nodejs22.x', code, ['aws-sdk']), { now: NOW })).toEqual([]);
  });

  it('names a runtime-provided SDK v3 package this project lacks, and any other package not bundled', () => {
    const code =
      'import{IoTWirelessClient}from"@aws-sdk/client-iot-wireless";import{SQSClient}from"@aws-sdk/client-sqs";import x from"left-pad";import"node:fs";const s=`from":"`;';
    expect(startupReport(fn('V3', 'nodejs24.x', code), { now: NOW })).toEqual([
      'App/V3/Resource: its code imports @aws-sdk/client-iot-wireless, which the nodejs24.x Lambda runtime provides but this project has not installed, so it fails locally with "Cannot find module": run `npm install --save-dev @aws-sdk/client-iot-wireless`.',
      expect.stringMatching(
        /^App\/V3\/Resource: its code imports left-pad, a package the Lambda runtime does not provide, and its bundle leaves it out/,
      ),
    ]);
  });
});

/** The smallest assembly the runtime starts: one function behind `$default`, on a runtime past its deprecation. */
function oldRuntimeAssembly(): string {
  const dir = join(root, 'assembly');
  mkdirSync(join(dir, 'asset.old'), { recursive: true });
  writeFileSync(join(dir, 'asset.old', 'index.js'), 'exports.handler = async () => ({ statusCode: 200 });');
  const uri = {
    'Fn::Join': [
      '',
      [
        'arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/',
        { 'Fn::GetAtt': ['Fn1', 'Arn'] },
        '/invocations',
      ],
    ],
  };
  const Resources = {
    Fn1: {
      Type: 'AWS::Lambda::Function',
      Properties: { Handler: 'index.handler', Runtime: 'nodejs16.x', Code: { S3Bucket: 'b', S3Key: 'old.zip' } },
      Metadata: { 'aws:cdk:path': 'Old/Handler/Resource', 'aws:asset:path': 'asset.old' },
    },
    Api1: {
      Type: 'AWS::ApiGatewayV2::Api',
      Properties: { Name: 'ws', ProtocolType: 'WEBSOCKET', RouteSelectionExpression: '$request.body.action' },
    },
    Stage1: {
      Type: 'AWS::ApiGatewayV2::Stage',
      Properties: { ApiId: { Ref: 'Api1' }, StageName: 'prod', AutoDeploy: true },
    },
    Int1: {
      Type: 'AWS::ApiGatewayV2::Integration',
      Properties: { ApiId: { Ref: 'Api1' }, IntegrationType: 'AWS_PROXY', IntegrationUri: uri },
    },
    Route1: {
      Type: 'AWS::ApiGatewayV2::Route',
      Properties: {
        ApiId: { Ref: 'Api1' },
        RouteKey: '$default',
        Target: { 'Fn::Join': ['', ['integrations/', { Ref: 'Int1' }]] },
      },
    },
  };
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({ artifacts: { Old: { type: 'aws:cloudformation:stack' } } }),
  );
  writeFileSync(join(dir, 'Old.template.json'), JSON.stringify({ Resources }));
  return dir;
}

describe('npm start on an app with such a function', () => {
  it('prints the report at start-up, before any invocation, and still starts', async () => {
    const lines: string[] = [];
    const local = await startLocal({
      port: 0,
      cdkOut: oldRuntimeAssembly(),
      inMemory: true,
      logSink: (l) => lines.push(l),
    });
    await local.stop();
    expect(lines).toContainEqual(
      expect.stringMatching(/^\[local\] Old\/Handler\/Resource: runtime nodejs16\.x is past AWS Lambda's deprecation/),
    );
  });
});
