import { Capture, Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HandlerName } from '../../infra/postbox-stack.js';
import { referencedId, type Synthesized, synthPostbox } from './helpers.js';

const ROUTES: Record<string, HandlerName> = {
  $connect: 'connect',
  $disconnect: 'disconnect',
  $default: 'default',
  subscribe: 'subscribe',
  unsubscribe: 'unsubscribe',
  publish: 'publish',
  send: 'send',
  ack: 'ack',
  replay: 'replay',
  enqueue: 'enqueue',
  consume: 'consume',
  cancel: 'cancel',
  nack: 'nack',
  extend: 'extend',
};
/** Routes API Gateway answers by itself (MOCK), with the frame it sends back. */
const CANNED = { heartbeat: '{"type":"heartbeat"}' };
const ONE_WAY = ['$connect', '$disconnect'];
const TWO_WAY = [...Object.keys(ROUTES), ...Object.keys(CANNED)].filter((key) => !ONE_WAY.includes(key));

function routeIdByKey(template: Template, routeKey: string): string {
  const routes = template.findResources('AWS::ApiGatewayV2::Route', { Properties: { RouteKey: routeKey } });
  const ids = Object.keys(routes);
  expect(ids, `routes with key ${routeKey}`).toHaveLength(1);
  return ids[0] as string;
}

describe('WebSocket API', () => {
  let synth: Synthesized;
  let template: Template;
  beforeAll(() => {
    synth = synthPostbox();
    template = synth.template;
  });

  it('is one WebSocket API routing on the frame’s action', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: '$request.body.action',
    });
  });

  it('has exactly the fifteen routes of the protocol', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Route', Object.keys(ROUTES).length + Object.keys(CANNED).length);
    for (const key of [...Object.keys(ROUTES), ...Object.keys(CANNED)]) routeIdByKey(template, key);
  });

  it.each(Object.entries(CANNED))('answers %s itself with %s, through a MOCK integration (no Lambda)', (key, reply) => {
    const resources = template.toJSON().Resources;
    const integrationId = referencedId(resources[routeIdByKey(template, key)].Properties.Target) as string;
    expect(resources[integrationId]).toMatchObject({
      Type: 'AWS::ApiGatewayV2::Integration',
      Properties: {
        IntegrationType: 'MOCK',
        RequestTemplates: { $default: '{"statusCode":200}' },
        TemplateSelectionExpression: '\\$default',
      },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::IntegrationResponse', {
      IntegrationId: { Ref: integrationId },
      IntegrationResponseKey: '$default',
      ResponseTemplates: { $default: reply },
    });
  });

  it.each(Object.entries(ROUTES))('routes %s to the %s function through a Lambda proxy integration', (key, name) => {
    const resources = template.toJSON().Resources;
    const route = resources[routeIdByKey(template, key)];
    const integrationId = referencedId(route.Properties.Target);
    expect(integrationId).toBeDefined();
    const integration = resources[integrationId as string];
    expect(integration.Type).toBe('AWS::ApiGatewayV2::Integration');
    expect(integration.Properties.IntegrationType).toBe('AWS_PROXY');
    expect(referencedId(integration.Properties.IntegrationUri)).toBe(synth.functionId(name));
  });

  it('answers with a frame on every route but $connect and $disconnect', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::RouteResponse', TWO_WAY.length);
    for (const key of TWO_WAY) {
      const routeId = routeIdByKey(template, key);
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: key,
        RouteResponseSelectionExpression: '$default',
      });
      template.hasResourceProperties('AWS::ApiGatewayV2::RouteResponse', {
        RouteId: { Ref: routeId },
        RouteResponseKey: '$default',
      });
    }
    for (const key of ONE_WAY) {
      const routeId = routeIdByKey(template, key);
      expect(
        template.findResources('AWS::ApiGatewayV2::RouteResponse', { Properties: { RouteId: { Ref: routeId } } }),
      ).toEqual({});
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: key,
        RouteResponseSelectionExpression: Match.absent(),
      });
    }
  });

  it('guards $connect, and only $connect, with a REQUEST authorizer reading the token from the query string', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
    const uri = new Capture();
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      IdentitySource: ['route.request.querystring.token'],
      AuthorizerUri: uri,
    });
    expect(referencedId(uri.asObject())).toBe(synth.functionId('authorize'));

    const authorizerId = Object.keys(template.findResources('AWS::ApiGatewayV2::Authorizer'))[0];
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: '$connect',
      AuthorizationType: 'CUSTOM',
      AuthorizerId: { Ref: authorizerId },
    });
    const custom = template.findResources('AWS::ApiGatewayV2::Route', { Properties: { AuthorizationType: 'CUSTOM' } });
    expect(Object.values(custom).map((route) => route.Properties.RouteKey)).toEqual(['$connect']);
  });

  it('lets API Gateway invoke the authorizer', () => {
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [synth.functionId('authorize'), 'Arn'] },
      SourceArn: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith(['/authorizers/'])]) }),
    });
  });

  it('deploys every change to an auto-deployed prod stage with default route throttling', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    template.resourceCountIs('AWS::ApiGatewayV2::Deployment', 0);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'prod',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
    });
  });
});

describe('WebSocket API with a custom stage', () => {
  let template: Template;
  beforeAll(() => {
    template = synthPostbox({ stageName: 'dev', throttle: { rateLimit: 20, burstLimit: 40 } }).template;
  });

  it('names the stage and throttles it as asked', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'dev',
      DefaultRouteSettings: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
    });
  });

  it('points the callback URL and the ManageConnections grant at that stage', () => {
    const url = template.toJSON().Outputs.CallbackUrl.Value;
    expect(JSON.stringify(url)).toMatch(/"\/dev"\]/);
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('/dev/POST/@connections/*');
    expect(policies).not.toContain('/prod/');
  });
});
