import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildModel,
  type CfnResource,
  type CfnTemplate,
  loadStack,
  type PhysicalValues,
  ResolveError,
  resolve,
  resolveContext,
  resolveEnvironment,
  TemplateError,
  UnsupportedResourceError,
} from '../../local/template/index.js';

const pseudo = {
  region: 'us-east-1',
  accountId: '000000000000',
  stackName: 'S',
  partition: 'aws',
  urlSuffix: 'amazonaws.com',
};

describe('intrinsic resolver', () => {
  const template: CfnTemplate = {
    Resources: { Q: { Type: 'AWS::SQS::Queue' } },
    Parameters: { Stage: { Type: 'String', Default: 'live' } },
  };
  const physical: PhysicalValues = new Map([
    ['Q', { ref: 'http://127.0.0.1:9/000000000000/q', attributes: { Arn: 'arn:aws:sqs:us-east-1:000000000000:q' } }],
  ]);
  const ctx = { template, physical, pseudo };

  it.each([
    [{ Ref: 'Q' }, 'http://127.0.0.1:9/000000000000/q'],
    [{ 'Fn::GetAtt': ['Q', 'Arn'] }, 'arn:aws:sqs:us-east-1:000000000000:q'],
    [{ 'Fn::GetAtt': 'Q.Arn' }, 'arn:aws:sqs:us-east-1:000000000000:q'],
    [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':', { Ref: 'AWS::Region' }]] }, 'arn:aws:us-east-1'],
    [
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax, not a JS template
      { 'Fn::Sub': '${AWS::AccountId}/${Q.Arn}/${!Literal}/${AWS::URLSuffix}' },
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax, not a JS template
      '000000000000/arn:aws:sqs:us-east-1:000000000000:q/${Literal}/amazonaws.com',
    ],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax, not a JS template
    [{ 'Fn::Sub': ['${X}-${Stage}', { X: { Ref: 'AWS::StackName' } }] }, 'S-live'],
    [{ 'Fn::Select': [1, { 'Fn::Split': [':', { 'Fn::GetAtt': ['Q', 'Arn'] }] }] }, 'aws'],
    [{ Ref: 'Stage' }, 'live'],
    [{ nested: [{ Ref: 'AWS::Region' }] }, { nested: ['us-east-1'] }],
  ])('resolves %j', (value, expected) => {
    expect(resolve(value, ctx)).toEqual(expected);
  });

  it('refuses intrinsics it cannot evaluate and values that do not exist', () => {
    expect(() => resolve({ 'Fn::If': ['C', 'a', 'b'] }, ctx)).toThrow(
      new ResolveError('Fn::If is not supported by the local runtime'),
    );
    expect(() => resolve({ 'Fn::ImportValue': 'x' }, ctx)).toThrow(
      new ResolveError('Fn::ImportValue x: no other stack is loaded'),
    );
    expect(() => resolve({ Ref: 'Missing' }, ctx)).toThrow(new ResolveError('Ref Missing: no local value'));
    expect(() => resolve({ 'Fn::GetAtt': ['Q', 'QueueName'] }, ctx)).toThrow(ResolveError);
  });
});

/** A hand-written template of the shape CDK synthesizes, with one asset folder per function. */
function smallStack(extra: Record<string, CfnResource> = {}, fnProps: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'postbox-template-'));
  mkdirSync(join(dir, 'asset.abc'));
  writeFileSync(join(dir, 'asset.abc', 'index.mjs'), 'export const handler = async () => ({ statusCode: 200 });');
  const fnArn = { 'Fn::GetAtt': ['Fn9A', 'Arn'] };
  const uri = {
    'Fn::Join': ['', ['arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/', fnArn, '/invocations']],
  };
  const resources: Record<string, CfnResource> = {
    Fn9A: {
      Type: 'AWS::Lambda::Function',
      Properties: {
        Handler: 'index.handler',
        Runtime: 'nodejs24.x',
        Code: { S3Bucket: 'b', S3Key: 'abc.zip' },
        Environment: {
          Variables: {
            QUEUE_URL: { Ref: 'Queue1' },
            CALLBACK_URL: {
              'Fn::Join': [
                '',
                [
                  'https://',
                  { Ref: 'Api1' },
                  '.execute-api.',
                  { Ref: 'AWS::Region' },
                  '.',
                  { Ref: 'AWS::URLSuffix' },
                  '/prod',
                ],
              ],
            },
          },
        },
        ...fnProps,
      },
      Metadata: { 'aws:cdk:path': 'S/Handler/Resource', 'aws:asset:path': 'asset.abc' },
    },
    Dlq1: { Type: 'AWS::SQS::Queue', Metadata: { 'aws:cdk:path': 'S/Dlq/Resource' } },
    Queue1: {
      Type: 'AWS::SQS::Queue',
      Properties: {
        QueueName: 'ingest',
        VisibilityTimeout: 18,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['Dlq1', 'Arn'] }, maxReceiveCount: 5 },
      },
    },
    Esm1: {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: {
        EventSourceArn: { 'Fn::GetAtt': ['Queue1', 'Arn'] },
        FunctionName: { Ref: 'Fn9A' },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      },
    },
    Api1: {
      Type: 'AWS::ApiGatewayV2::Api',
      Properties: { Name: 'ws', ProtocolType: 'WEBSOCKET', RouteSelectionExpression: '$request.body.type' },
    },
    Stage1: {
      Type: 'AWS::ApiGatewayV2::Stage',
      Properties: { ApiId: { Ref: 'Api1' }, StageName: 'prod', AutoDeploy: true },
    },
    Int1: {
      Type: 'AWS::ApiGatewayV2::Integration',
      Properties: { ApiId: { Ref: 'Api1' }, IntegrationType: 'AWS_PROXY', IntegrationUri: uri },
    },
    Auth1: {
      Type: 'AWS::ApiGatewayV2::Authorizer',
      Properties: {
        ApiId: { Ref: 'Api1' },
        AuthorizerType: 'REQUEST',
        AuthorizerUri: uri,
        IdentitySource: ['route.request.querystring.token'],
        Name: 'TokenAuth',
      },
    },
    Connect1: {
      Type: 'AWS::ApiGatewayV2::Route',
      Properties: {
        ApiId: { Ref: 'Api1' },
        RouteKey: '$connect',
        AuthorizationType: 'CUSTOM',
        AuthorizerId: { Ref: 'Auth1' },
        Target: { 'Fn::Join': ['', ['integrations/', { Ref: 'Int1' }]] },
      },
    },
    Echo1: {
      Type: 'AWS::ApiGatewayV2::Route',
      Properties: {
        ApiId: { Ref: 'Api1' },
        RouteKey: 'echo',
        AuthorizationType: 'NONE',
        Target: { 'Fn::Join': ['', ['integrations/', { Ref: 'Int1' }]] },
      },
    },
    EchoResponse1: {
      Type: 'AWS::ApiGatewayV2::RouteResponse',
      Properties: { ApiId: { Ref: 'Api1' }, RouteId: { Ref: 'Echo1' }, RouteResponseKey: '$default' },
    },
    Role1: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: {} } },
    Perm1: { Type: 'AWS::Lambda::Permission', Properties: {} },
    ...extra,
  };
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({
      artifacts: { S: { type: 'aws:cloudformation:stack', properties: { templateFile: 'S.template.json' } } },
    }),
  );
  writeFileSync(join(dir, 'S.template.json'), JSON.stringify({ Resources: resources }));
  return dir;
}

describe('model builder (hand-written template)', () => {
  const dirs: string[] = [];
  const stack = (...args: Parameters<typeof smallStack>) => {
    const dir = smallStack(...args);
    dirs.push(dir);
    return loadStack(dir);
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('follows references, not logical ids, and applies CloudFormation defaults', () => {
    const model = buildModel(stack());
    const fn = model.functions.get('Fn9A');
    expect(fn).toMatchObject({ displayName: 'Handler', timeoutSeconds: 3, memoryMb: 128, handlerExport: 'handler' });
    expect(fn?.name).toMatch(/^S-Fn9A-[A-Z0-9]{12}$/);
    expect(fn?.handlerFile).toMatch(/asset\.abc\/index\.mjs$/);
    expect(model.queues.get('Queue1')).toMatchObject({
      name: 'ingest',
      visibilityTimeoutSeconds: 18,
      redrive: { deadLetterQueueId: 'Dlq1', maxReceiveCount: 5 },
    });
    expect(model.queues.get('Dlq1')?.name).toMatch(/^S-Dlq1-[A-Z0-9]{12}$/);
    expect(model.eventSourceMappings).toEqual([
      expect.objectContaining({
        queueId: 'Queue1',
        functionId: 'Fn9A',
        batchSize: 10,
        maximumBatchingWindowSeconds: 0,
        reportBatchItemFailures: true,
        enabled: true,
      }),
    ]);
    const api = model.api?.gateway;
    expect(api).toMatchObject({ name: 'ws', stage: 'prod', routeSelectionExpression: '$request.body.type' });
    expect(api?.apiId).toMatch(/^[a-z0-9]{10}$/);
    expect(api?.routes.get('$connect')).toEqual({
      routeKey: '$connect',
      functionId: 'Fn9A',
      twoWay: false,
      authorizer: { name: 'TokenAuth', functionId: 'Fn9A', identitySource: ['route.request.querystring.token'] },
    });
    expect(api?.routes.get('echo')).toMatchObject({ twoWay: true, authorizer: undefined });
  });

  it('finds the asset through the assets manifest when the template has no asset metadata', () => {
    const loaded = stack();
    const fn = loaded.template.Resources.Fn9A as CfnResource;
    fn.Metadata = { 'aws:cdk:path': 'S/Handler/Resource' };
    writeFileSync(
      join(loaded.cdkOut, 'S.assets.json'),
      JSON.stringify({ files: { abc: { source: { path: 'asset.abc', packaging: 'zip' } } } }),
    );
    expect(buildModel(loaded).functions.get('Fn9A')?.taskRoot).toBe(join(loaded.cdkOut, 'asset.abc'));
  });

  it('resolves environment variables to local values and points the callback URL at the local gateway', () => {
    const model = buildModel(stack());
    model.physical.set('Queue1', { ref: 'http://127.0.0.1:4000/000000000000/ingest', attributes: {} });
    const fn = model.functions.get('Fn9A');
    if (!fn) throw new Error('no function');
    const env = resolveEnvironment(fn, resolveContext(model), {
      apiId: model.api?.gateway.apiId ?? '',
      gatewayBaseUrl: 'http://127.0.0.1:3001',
    });
    expect(env).toEqual({
      QUEUE_URL: 'http://127.0.0.1:4000/000000000000/ingest',
      CALLBACK_URL: 'http://127.0.0.1:3001/prod',
    });
  });

  it('refuses an unknown resource type, naming its construct path', () => {
    const loaded = stack({ Topic1: { Type: 'AWS::SNS::Topic', Metadata: { 'aws:cdk:path': 'S/Alerts/Resource' } } });
    expect(() => buildModel(loaded)).toThrow(UnsupportedResourceError);
    expect(() => buildModel(loaded)).toThrow(
      'S/Alerts/Resource (AWS::SNS::Topic): this resource type is not supported locally',
    );
  });

  it('refuses a property that would change behaviour, naming it', () => {
    expect(() => buildModel(stack({}, { Layers: ['arn:aws:lambda:us-east-1:1:layer:x:1'] }))).toThrow(
      'S/Handler/Resource (AWS::Lambda::Function, property Layers): this property is not supported locally',
    );
    expect(() => buildModel(stack({}, { Runtime: 'python3.13' }))).toThrow('property Runtime');
  });

  /** A `ping` route on a MOCK integration, as CDK's WebSocketMockIntegration and an integration response make it. */
  function mockRoute(integration: Record<string, unknown> = {}, response: Record<string, unknown> = {}) {
    return {
      Mock1: {
        Type: 'AWS::ApiGatewayV2::Integration',
        Properties: {
          ApiId: { Ref: 'Api1' },
          IntegrationType: 'MOCK',
          IntegrationUri: '',
          RequestTemplates: { $default: '{"statusCode":200}' },
          TemplateSelectionExpression: '\\$default',
          ...integration,
        },
        Metadata: { 'aws:cdk:path': 'S/Api/ping-Route/PingIntegration/Resource' },
      },
      MockResponse1: {
        Type: 'AWS::ApiGatewayV2::IntegrationResponse',
        Properties: {
          ApiId: { Ref: 'Api1' },
          IntegrationId: { Ref: 'Mock1' },
          IntegrationResponseKey: '$default',
          ResponseTemplates: { $default: '{"type":"pong"}' },
          TemplateSelectionExpression: '\\$default',
          ...response,
        },
      },
      Ping1: {
        Type: 'AWS::ApiGatewayV2::Route',
        Properties: {
          ApiId: { Ref: 'Api1' },
          RouteKey: 'ping',
          Target: { 'Fn::Join': ['', ['integrations/', { Ref: 'Mock1' }]] },
          RouteResponseSelectionExpression: '$default',
        },
      },
      PingResponse1: {
        Type: 'AWS::ApiGatewayV2::RouteResponse',
        Properties: { ApiId: { Ref: 'Api1' }, RouteId: { Ref: 'Ping1' }, RouteResponseKey: '$default' },
      },
    } satisfies Record<string, CfnResource>;
  }

  it('reads a MOCK integration with static templates as a route that invokes nothing', () => {
    const route = buildModel(stack(mockRoute())).api?.gateway.routes.get('ping');
    expect(route).toEqual({
      routeKey: 'ping',
      twoWay: true,
      authorizer: undefined,
      mock: { statusCode: 200, responses: [{ key: '$default', body: '{"type":"pong"}' }] },
    });
  });

  it('refuses what a MOCK integration would need a Velocity engine or a runtime expression for', () => {
    expect(() =>
      buildModel(stack(mockRoute({}, { ResponseTemplates: { $default: '{"id":"$context.requestId"}' } }))),
    ).toThrow('(AWS::ApiGatewayV2::IntegrationResponse, property ResponseTemplates): only static templates');
    expect(() => buildModel(stack(mockRoute({ TemplateSelectionExpression: '$request.body.kind' })))).toThrow(
      'S/Api/ping-Route/PingIntegration/Resource (AWS::ApiGatewayV2::Integration, property TemplateSelectionExpression)',
    );
    expect(() => buildModel(stack(mockRoute({ RequestTemplates: undefined })))).toThrow(
      'a MOCK integration needs a request template',
    );
  });

  it('refuses a mapping CreateEventSourceMapping would refuse (visibility timeout below the function timeout)', () => {
    expect(() => buildModel(stack({}, { Timeout: 30 }))).toThrow(
      'Queue visibility timeout: 18 seconds is less than Function timeout: 30 seconds',
    );
  });

  it('reports a missing cloud assembly or stack as a TemplateError', () => {
    expect(() => loadStack(join(tmpdir(), 'no-such-cdk-out'))).toThrow(TemplateError);
    const dir = smallStack();
    dirs.push(dir);
    expect(() => loadStack(dir, 'Other')).toThrow('stack Other is not in');
  });
});
