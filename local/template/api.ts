import type { GatewayAuthorizer, GatewayRoute } from '../gateway/types.js';
import { mockIntegration } from './mock.js';
import { originOf } from './origin.js';
import { referencesOfType } from './references.js';
import { unsupportedValue } from './support.js';
import type { CfnTemplate, PhysicalValues, WebSocketApiModel } from './types.js';

type Props = Record<string, unknown>;

/**
 * Finds the stack's WebSocket API and follows its edges: Stage → Api, Route → Integration → Function (or a MOCK
 * integration → its IntegrationResponses), RouteResponse → Route (two-way), Route → Authorizer → Function. The gateway
 * serves one API on one stage.
 */
export function buildWebSocketApi(template: CfnTemplate, physical: PhysicalValues): WebSocketApiModel | undefined {
  const byType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);
  const of = (apiId: string, type: string) =>
    byType(type).filter(
      ([, r]) => referencesOfType(template, r.Properties?.ApiId, 'AWS::ApiGatewayV2::Api')[0] === apiId,
    );

  const apis = byType('AWS::ApiGatewayV2::Api');
  for (const [id, api] of apis) {
    if (api.Properties?.ProtocolType !== 'WEBSOCKET') {
      throw unsupportedValue(id, template, 'ProtocolType', 'only WebSocket APIs are supported locally');
    }
  }
  const [second] = apis.slice(1);
  if (second) throw unsupportedValue(second[0], template, 'ProtocolType', 'the local gateway serves one WebSocket API');
  const [entry] = apis;
  if (!entry) return undefined;
  const [apiLogicalId, api] = entry;
  const props = api.Properties ?? {};

  const stages = of(apiLogicalId, 'AWS::ApiGatewayV2::Stage');
  if (stages.length !== 1) {
    throw unsupportedValue(
      apiLogicalId,
      template,
      'Stage',
      `the local gateway needs exactly one stage (found ${stages.length})`,
    );
  }
  const stage = String(stages[0]?.[1].Properties?.StageName);

  const twoWay = new Set(
    of(apiLogicalId, 'AWS::ApiGatewayV2::RouteResponse').flatMap(([id, r]) => {
      // API Gateway allows only `$default` as a WebSocket route response key [ROUTERESP].
      if (r.Properties?.RouteResponseKey !== '$default') {
        throw unsupportedValue(id, template, 'RouteResponseKey', 'only $default is allowed');
      }
      return referencesOfType(template, r.Properties?.RouteId, 'AWS::ApiGatewayV2::Route');
    }),
  );

  const routes = new Map<string, GatewayRoute>();
  const integrationTimeoutsMs = new Map<string, number>();
  for (const [routeId, route] of of(apiLogicalId, 'AWS::ApiGatewayV2::Route')) {
    const rp = route.Properties ?? {};
    const routeKey = String(rp.RouteKey);
    if (rp.ApiKeyRequired === true)
      throw unsupportedValue(routeId, template, 'ApiKeyRequired', 'API keys are not supported');
    const [integrationId] = referencesOfType(template, rp.Target, 'AWS::ApiGatewayV2::Integration');
    const integration = integrationId ? template.Resources[integrationId]?.Properties : undefined;
    if (!integrationId || !integration) {
      throw unsupportedValue(routeId, template, 'Target', 'the route must target an integration of this stack');
    }
    if (integration.TimeoutInMillis !== undefined)
      integrationTimeoutsMs.set(routeKey, Number(integration.TimeoutInMillis));
    const common = { routeKey, twoWay: twoWay.has(routeId), authorizer: authorizerOf(routeId, rp, template) };
    if (integration.IntegrationType === 'MOCK') {
      if (routeKey === '$connect' || routeKey === '$disconnect')
        throw unsupportedValue(
          integrationId,
          template,
          'IntegrationType',
          `MOCK runs locally on message routes, not ${routeKey}`,
        );
      routes.set(routeKey, { ...common, mock: mockIntegration(integrationId, integration, template) });
    } else
      routes.set(routeKey, {
        ...common,
        functionId: lambdaTarget(integrationId, integration, 'IntegrationUri', template),
      });
  }

  return {
    ...originOf(apiLogicalId, api),
    gateway: {
      apiId: physical.get(apiLogicalId)?.ref ?? '',
      name: String(props.Name ?? apiLogicalId),
      stage,
      // WebSocket APIs have no default expression; CloudFormation requires one [ROUTES].
      routeSelectionExpression: String(props.RouteSelectionExpression),
      routes,
    },
    integrationTimeoutsMs,
  };
}

function lambdaTarget(logicalId: string, props: Props, property: string, template: CfnTemplate): string {
  const type = props.IntegrationType ?? props.AuthorizerType;
  if (props.IntegrationType !== undefined && type !== 'AWS_PROXY') {
    throw unsupportedValue(
      logicalId,
      template,
      'IntegrationType',
      `only AWS_PROXY (Lambda proxy) and MOCK run locally, not ${type}`,
    );
  }
  const [functionId] = referencesOfType(template, props[property], 'AWS::Lambda::Function');
  if (!functionId) throw unsupportedValue(logicalId, template, property, 'must invoke a Lambda function of this stack');
  return functionId;
}

function authorizerOf(routeId: string, route: Props, template: CfnTemplate): GatewayAuthorizer | undefined {
  const type = route.AuthorizationType ?? 'NONE';
  if (type === 'NONE') return undefined;
  if (type !== 'CUSTOM')
    throw unsupportedValue(routeId, template, 'AuthorizationType', `${type} is not supported locally`);
  const [authorizerId] = referencesOfType(template, route.AuthorizerId, 'AWS::ApiGatewayV2::Authorizer');
  const authorizer = authorizerId ? template.Resources[authorizerId] : undefined;
  if (!authorizerId || !authorizer)
    throw unsupportedValue(routeId, template, 'AuthorizerId', 'must be an authorizer of this stack');
  const props = authorizer.Properties ?? {};
  if (props.AuthorizerType !== 'REQUEST') {
    throw unsupportedValue(authorizerId, template, 'AuthorizerType', 'WebSocket APIs support REQUEST authorizers only');
  }
  const source = props.IdentitySource;
  return {
    name: String(props.Name ?? authorizerId),
    functionId: lambdaTarget(authorizerId, props, 'AuthorizerUri', template),
    identitySource: Array.isArray(source) ? source.map(String) : typeof source === 'string' ? source.split(/,\s*/) : [],
  };
}
