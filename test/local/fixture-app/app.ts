import { fileURLToPath } from 'node:url';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Runtime } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Queue } from 'aws-cdk-lib/aws-sqs';

/**
 * A deliberately small app, unrelated to Postbox's own stack, so the local runtime is shown to be generic:
 * an echo route (two-way), a `$connect` authorizer, and a queue drained by an event source mapping.
 */
export function buildFixtureApp(outdir?: string): App {
  const app = new App({
    outdir,
    context: { 'aws:cdk:enable-asset-metadata': true, 'aws:cdk:enable-path-metadata': true },
  });
  const stack = new Stack(app, 'FixtureStack');
  const handler = (name: string, environment: Record<string, string> = {}) =>
    new NodejsFunction(stack, name, {
      entry: fileURLToPath(new URL(`./handlers/${name.toLowerCase()}.ts`, import.meta.url)),
      runtime: Runtime.NODEJS_24_X,
      bundling: { format: OutputFormat.ESM },
      timeout: Duration.seconds(5),
      environment,
    });

  const dlq = new Queue(stack, 'Dlq');
  const jobs = new Queue(stack, 'Jobs', {
    visibilityTimeout: Duration.seconds(30),
    deadLetterQueue: { queue: dlq, maxReceiveCount: 3 },
  });
  const authorize = handler('Authorize');
  const echo = handler('Echo', { JOBS_QUEUE_URL: jobs.queueUrl });
  const worker = handler('Worker');
  worker.addEventSource(new SqsEventSource(jobs, { batchSize: 5, reportBatchItemFailures: true, maxConcurrency: 2 }));

  const api = new WebSocketApi(stack, 'Api', {
    connectRouteOptions: {
      integration: new WebSocketLambdaIntegration('Connect', echo),
      authorizer: new WebSocketLambdaAuthorizer('Auth', authorize, {
        identitySource: ['route.request.querystring.name'],
      }),
    },
  });
  api.addRoute('echo', { integration: new WebSocketLambdaIntegration('EchoRoute', echo), returnResponse: true });
  const stage = new WebSocketStage(stack, 'Stage', { webSocketApi: api, stageName: 'live', autoDeploy: true });
  echo.addEnvironment('CALLBACK_URL', stage.callbackUrl);
  jobs.grantSendMessages(echo);
  return app;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) buildFixtureApp().synth();
