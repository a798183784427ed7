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

/** Synthesizes a Postbox stack without bundling; `extend` may add to it first. */
export function synthPostbox(props: PostboxStackProps = {}, extend?: (stack: PostboxStack) => void): Synthesized {
  const app = new App({ context: SKIP_BUNDLING });
  const stack = new PostboxStack(app, 'Postbox', props);
  extend?.(stack);
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
  Condition?: Json;
}

/**
 * A resource as text, with references as cdk-nag writes them: `<Id.Arn>` for `Fn::GetAtt`, `<Id>` for a `Ref`
 * (pseudo parameters too: `<AWS::Region>`), a `Fn::Join` joined.
 */
export function renderResource(value: Json): string {
  if (typeof value === 'string') return value;
  const record = (value ?? {}) as Record<string, Json>;
  if (typeof record.Ref === 'string') return `<${record.Ref}>`;
  const getAtt = record['Fn::GetAtt'];
  if (Array.isArray(getAtt)) return `<${getAtt.join('.')}>`;
  const join = record['Fn::Join'];
  if (Array.isArray(join)) return (join[1] as Json[]).map(renderResource).join(join[0] as string);
  return JSON.stringify(value);
}

/**
 * Every grant each role's policies allow, exactly: `"action @ resource"`, with ` if {conditions}` where the
 * statement has some, keyed by the logical id of the role. Denies are listed as `"DENY …"`.
 */
export function exactGrantsByRole(template: Template): Map<string, string[]> {
  const grants = new Map<string, string[]>();
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
    const roles = (policy.Properties.Roles as Json[]).map((role) => referencedId(role) ?? '?');
    for (const statement of policy.Properties.PolicyDocument.Statement as Statement[]) {
      const actions = [statement.Action].flat();
      const resources = [statement.Resource].flat();
      const condition = statement.Condition === undefined ? '' : ` if ${JSON.stringify(statement.Condition)}`;
      const effect = statement.Effect === 'Allow' ? '' : `${statement.Effect.toUpperCase()} `;
      for (const roleId of roles) {
        const list = grants.get(roleId) ?? [];
        for (const action of actions)
          for (const resource of resources) list.push(`${effect}${action} @ ${renderResource(resource)}${condition}`);
        grants.set(roleId, list);
      }
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
