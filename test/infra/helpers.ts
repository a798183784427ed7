import { App, type CfnResource } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { type HandlerName, PostboxStack, type PostboxStackProps } from '../../infra/postbox-stack.js';

/** Context that skips esbuild: assets become placeholders, which is all the template assertions need. */
export const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [] as string[] };

export interface Synthesized {
  readonly stack: PostboxStack;
  readonly template: Template;
  /** Logical id of a handler's `AWS::Lambda::Function`. */
  readonly functionId: (name: HandlerName) => string;
}

/** Synthesizes a Postbox stack without bundling. */
export function synthPostbox(props: PostboxStackProps = {}): Synthesized {
  const app = new App({ context: SKIP_BUNDLING });
  const stack = new PostboxStack(app, 'Postbox', props);
  const template = Template.fromStack(stack);
  return { stack, template, functionId: (name) => logicalId(stack.handlers[name].function) };
}

/** The logical id of `construct`'s CloudFormation resource. */
export function logicalId(construct: IConstruct): string {
  const resource = construct.node.defaultChild as CfnResource;
  return resource.stack.getLogicalId(resource);
}

type Json = unknown;

/** The first logical id a `Ref` or `Fn::GetAtt` inside `value` points at, skipping pseudo parameters. */
export function referencedId(value: Json): string | undefined {
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = referencedId(item);
      if (found) return found;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    const record = value as Record<string, Json>;
    const ref = record.Ref;
    if (typeof ref === 'string' && !ref.startsWith('AWS::')) return ref;
    const getAtt = record['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
    for (const item of Object.values(record)) {
      const found = referencedId(item);
      if (found) return found;
    }
  }
  return undefined;
}

interface Statement {
  Action: string | string[];
  Effect: string;
  Resource: Json;
}

/**
 * Every `action → resource` pair each role's policies allow, as `"dynamodb:Query @ TablesInbox…"` strings,
 * keyed by the logical id of the role.
 */
export function grantsByRole(template: Template): Map<string, Set<string>> {
  const grants = new Map<string, Set<string>>();
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
    const roles = (policy.Properties.Roles as Json[]).map((role) => referencedId(role) ?? '?');
    const statements = policy.Properties.PolicyDocument.Statement as Statement[];
    for (const roleId of roles) {
      const set = grants.get(roleId) ?? new Set<string>();
      for (const statement of statements) {
        if (statement.Effect !== 'Allow') continue;
        const actions = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
        const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
        for (const action of actions) {
          for (const resource of resources)
            set.add(`${action} @ ${referencedId(resource) ?? JSON.stringify(resource)}`);
        }
      }
      grants.set(roleId, set);
    }
  }
  return grants;
}

/** The logical id of the execution role of the function with logical id `functionId`. */
export function roleOf(template: Template, functionId: string): string {
  const fn = template.toJSON().Resources[functionId];
  const role = referencedId(fn?.Properties?.Role);
  if (!role) throw new Error(`no role on ${functionId}`);
  return role;
}
