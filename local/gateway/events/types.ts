import type { APIGatewayEventWebsocketRequestContextV2 } from 'aws-lambda';

/**
 * The WebSocket proxy event as API Gateway really sends it. `@types/aws-lambda` omits `identity`, `authorizer`,
 * the headers, the query and the disconnect fields, and marks `messageId` as always present, so the type is
 * extended here from recorded events (aws-lambda-go `events/testdata/apigw-websocket-request-*.json`).
 */
export interface WebsocketRequestContext extends Omit<APIGatewayEventWebsocketRequestContextV2, 'messageId'> {
  messageId?: string;
  identity: { sourceIp: string; userAgent?: string };
  authorizer?: Record<string, unknown>;
  disconnectStatusCode?: number;
  disconnectReason?: string;
}

export interface WebsocketProxyEvent {
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  queryStringParameters?: Record<string, string>;
  multiValueQueryStringParameters?: Record<string, string[]>;
  requestContext: WebsocketRequestContext;
  body?: string;
  isBase64Encoded: false;
}

/** What a WebSocket REQUEST authorizer receives (apigateway-websocket-api-lambda-auth.html). */
export interface WebsocketAuthorizerEvent {
  type: 'REQUEST';
  methodArn: string;
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  queryStringParameters?: Record<string, string>;
  multiValueQueryStringParameters?: Record<string, string[]>;
  stageVariables: Record<string, string>;
  requestContext: WebsocketRequestContext;
}
