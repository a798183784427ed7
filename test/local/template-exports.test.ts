import { describe, expect, it } from 'vitest';
import { linkStacks } from '../../local/template/exports.js';
import {
  buildModel,
  resolve,
  resolveContext,
  TemplateError,
  type TemplateModel,
  UnsupportedResourceError,
} from '../../local/template/index.js';
import type { CfnTemplate } from '../../local/template/types.js';

const exportName = (name: string) => ({ 'Fn::Join': [':', [{ Ref: 'AWS::StackName' }, name]] });

function stack(stackName: string, template: Partial<CfnTemplate>): TemplateModel {
  return buildModel({ stackName, cdkOut: '/nowhere', templateFile: '', template: { Resources: {}, ...template } });
}

const data = () =>
  stack('Data', {
    Resources: { Table1: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: 'connections' } } },
    Outputs: { TableOut: { Value: { Ref: 'Table1' }, Export: { Name: exportName('TableName') } } },
  });
const importer = (name: string, id = 'Api') =>
  stack(id, {
    Resources: {
      Queue1: {
        Type: 'AWS::SQS::Queue',
        Properties: { QueueName: { 'Fn::ImportValue': name } },
        Metadata: { 'aws:cdk:path': `${id}/Queue/Resource` },
      },
    },
  });

describe('linking the stacks of an assembly', () => {
  it("orders the exporting stack first and resolves Fn::ImportValue to the exporter's value", () => {
    const api = importer('Data:TableName');
    const ordered = linkStacks([api, data()], resolveContext);
    expect(ordered.map((m) => m.stackName)).toEqual(['Data', 'Api']);
    expect(resolve(api.template.Resources.Queue1?.Properties, resolveContext(api))).toEqual({
      QueueName: 'connections',
    });
  });

  it('refuses an import nothing loaded exports, with the CDK path of the resource that imports it', () => {
    expect(() => linkStacks([importer('Data:Missing'), data()], resolveContext)).toThrow(
      new UnsupportedResourceError(
        'Api/Queue/Resource',
        'AWS::SQS::Queue',
        'QueueName',
        'Fn::ImportValue Data:Missing: no stack of those loaded (Api, Data) exports it; run the exporting stack too',
      ),
    );
  });

  it('refuses two stacks exporting one name, and stacks importing from each other', () => {
    const twice = stack('Data', {
      Outputs: { A: { Value: 'a', Export: { Name: 'Same' } } },
    });
    const again = stack('Other', { Outputs: { B: { Value: 'b', Export: { Name: 'Same' } } } });
    expect(() => linkStacks([twice, again], resolveContext)).toThrow(
      new TemplateError('export Same is declared by both Data and Other'),
    );
    const a = stack('A', {
      Resources: { Q: { Type: 'AWS::SQS::Queue', Properties: { QueueName: { 'Fn::ImportValue': 'FromB' } } } },
      Outputs: { O: { Value: 'a', Export: { Name: 'FromA' } } },
    });
    const b = stack('B', {
      Resources: { Q: { Type: 'AWS::SQS::Queue', Properties: { QueueName: { 'Fn::ImportValue': 'FromA' } } } },
      Outputs: { O: { Value: 'b', Export: { Name: 'FromB' } } },
    });
    expect(() => linkStacks([a, b], resolveContext)).toThrow(
      new TemplateError('the stacks A → B → A import from each other'),
    );
  });
});
