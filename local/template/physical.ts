import { apiGatewayId, derivedUuid } from './naming.js';
import type { PhysicalValues, TemplateModel } from './types.js';

/** The parts of the model known before physical values exist. */
export type SeedInput = Pick<
  TemplateModel,
  'template' | 'stackName' | 'region' | 'accountId' | 'functions' | 'queues' | 'tables' | 'secrets'
>;

/**
 * The values CloudFormation would return for `Ref`/`Fn::GetAtt` that are fixed by names alone (see the
 * CloudFormation return-values tables of each type). Queue URLs and secret ARNs are added once the services
 * have created them.
 */
export function seedPhysicalValues(input: SeedInput): PhysicalValues {
  const { region, accountId, stackName } = input;
  const physical: PhysicalValues = new Map();
  for (const fn of input.functions.values()) physical.set(fn.logicalId, { ref: fn.name, attributes: { Arn: fn.arn } });
  for (const q of input.queues.values()) {
    physical.set(q.logicalId, {
      attributes: { Arn: `arn:aws:sqs:${region}:${accountId}:${q.name}`, QueueName: q.name },
    });
  }
  for (const t of input.tables.values()) {
    physical.set(t.logicalId, {
      ref: t.name,
      attributes: { Arn: `arn:aws:dynamodb:${region}:${accountId}:table/${t.name}` },
    });
  }
  for (const s of input.secrets.values()) physical.set(s.logicalId, { attributes: {} });

  for (const [id, resource] of Object.entries(input.template.Resources)) {
    const seed = `${stackName}/${id}`;
    switch (resource.Type) {
      case 'AWS::ApiGatewayV2::Api': {
        const apiId = apiGatewayId(seed);
        const endpoint = `wss://${apiId}.execute-api.${region}.amazonaws.com`;
        physical.set(id, { ref: apiId, attributes: { ApiId: apiId, ApiEndpoint: endpoint } });
        break;
      }
      case 'AWS::ApiGatewayV2::Stage':
        physical.set(id, { ref: String(resource.Properties?.StageName), attributes: {} });
        break;
      case 'AWS::ApiGatewayV2::Route':
      case 'AWS::ApiGatewayV2::Integration':
      case 'AWS::ApiGatewayV2::Authorizer':
      case 'AWS::ApiGatewayV2::RouteResponse':
      case 'AWS::ApiGatewayV2::IntegrationResponse': {
        const shortId = apiGatewayId(seed, 7);
        const attribute = `${resource.Type.split('::')[2]}Id`;
        physical.set(id, { ref: shortId, attributes: { [attribute]: shortId } });
        break;
      }
      case 'AWS::Lambda::EventSourceMapping': {
        const uuid = derivedUuid(seed);
        physical.set(id, { ref: uuid, attributes: { Id: uuid } });
        break;
      }
      case 'AWS::IAM::Role': {
        const name = `${stackName}-${id}`.slice(0, 64);
        physical.set(id, { ref: name, attributes: { Arn: `arn:aws:iam::${accountId}:role/${name}` } });
        break;
      }
    }
  }
  return physical;
}
