import type { WebsocketAuthorizerEvent, WebsocketProxyEvent } from './types.js';

/** The account id the local gateway puts in ARNs (there is no AWS account locally). */
export const LOCAL_ACCOUNT_ID = '000000000000';

/**
 * The REQUEST authorizer's input for a `$connect`: the same headers, query and CONNECT `requestContext` as the
 * `$connect` event, plus `type`, a `methodArn` that ends in `$connect` (no HTTP method, unlike REST) and
 * `stageVariables` (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html).
 */
export function authorizerEvent(
  connect: WebsocketProxyEvent,
  where: { region: string; apiId: string; stage: string },
): WebsocketAuthorizerEvent {
  const event: WebsocketAuthorizerEvent = {
    type: 'REQUEST',
    methodArn: `arn:aws:execute-api:${where.region}:${LOCAL_ACCOUNT_ID}:${where.apiId}/${where.stage}/$connect`,
    headers: connect.headers ?? {},
    multiValueHeaders: connect.multiValueHeaders ?? {},
    stageVariables: {},
    requestContext: connect.requestContext,
  };
  if (connect.queryStringParameters) event.queryStringParameters = connect.queryStringParameters;
  if (connect.multiValueQueryStringParameters) {
    event.multiValueQueryStringParameters = connect.multiValueQueryStringParameters;
  }
  return event;
}
