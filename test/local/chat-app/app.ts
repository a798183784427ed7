import { fileURLToPath } from 'node:url';
import { App, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';

/** The connections table, in a stack of its own: the API stack gets it through CDK's export and import. */
class ChatDataStack extends Stack {
  readonly table: Table;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.table = new Table(this, 'Connections', {
      partitionKey: { name: 'connectionId', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }
}

/**
 * A chat in the shape of AWS's simple-websockets-chat-app: `$connect`/`$disconnect` keep a row per connection,
 * `sendmessage` scans them and posts to each through an endpoint built from `requestContext`. Nothing in it knows
 * about the local runtime.
 */
class ChatApiStack extends Stack {
  constructor(scope: Construct, id: string, props: StackProps & { table: Table }) {
    super(scope, id, props);
    const handler = (name: string) => {
      const fn = new NodejsFunction(this, name, {
        entry: fileURLToPath(new URL(`./handlers/${name.toLowerCase()}.ts`, import.meta.url)),
        runtime: Runtime.NODEJS_24_X,
        environment: { TABLE_NAME: props.table.tableName },
      });
      props.table.grantReadWriteData(fn);
      return fn;
    };
    const onConnect = handler('OnConnect');
    const onDisconnect = handler('OnDisconnect');
    const sendMessage = handler('SendMessage');
    const tools = handler('Tools');

    const api = new WebSocketApi(this, 'ChatApi', {
      connectRouteOptions: { integration: new WebSocketLambdaIntegration('ConnectIntegration', onConnect) },
      disconnectRouteOptions: { integration: new WebSocketLambdaIntegration('DisconnectIntegration', onDisconnect) },
    });
    api.addRoute('sendmessage', { integration: new WebSocketLambdaIntegration('SendIntegration', sendMessage) });
    api.addRoute('whoami', { integration: new WebSocketLambdaIntegration('WhoAmIIntegration', tools) });
    api.addRoute('stackinfo', {
      integration: new WebSocketLambdaIntegration('StackInfoIntegration', tools),
      returnResponse: true,
    });
    new WebSocketStage(this, 'Prod', { webSocketApi: api, stageName: 'prod', autoDeploy: true });
    api.grantManageConnections(sendMessage);
    api.grantManageConnections(tools);
  }
}

export function buildChatApp(outdir?: string): App {
  const app = new App({
    outdir,
    context: { 'aws:cdk:enable-asset-metadata': true, 'aws:cdk:enable-path-metadata': true },
  });
  const data = new ChatDataStack(app, 'ChatData');
  new ChatApiStack(app, 'ChatApi', { table: data.table });
  return app;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) buildChatApp().synth();
