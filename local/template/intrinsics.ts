import type { CfnTemplate, PhysicalValues } from './types.js';

/** The pseudo parameters the local account answers with. */
export interface Pseudo {
  region: string;
  accountId: string;
  stackName: string;
  partition: string;
  urlSuffix: string;
}

export interface ResolveContext {
  template: CfnTemplate;
  physical: PhysicalValues;
  pseudo: Pseudo;
  /** The value another stack of the assembly exports under `name` (`Fn::ImportValue`). */
  importValue?: (name: string) => string;
}

/** An intrinsic the runtime cannot evaluate, or a reference to a value that does not exist (yet). */
export class ResolveError extends Error {
  override readonly name = 'ResolveError';
}

/**
 * Evaluates `Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`, `Fn::Select`, `Fn::Split`
 * and `Fn::ImportValue` (from the other stacks' `Export`s) against the physical values, as CloudFormation does at
 * deploy time. Other intrinsics (`Fn::If`, `Fn::FindInMap`, ...) are refused.
 */
export function resolve(value: unknown, ctx: ResolveContext): unknown {
  if (Array.isArray(value)) return value.map((v) => resolve(v, ctx));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  const [key, arg] = entries[0] ?? [];
  if (entries.length === 1 && key !== undefined && (key === 'Ref' || key.startsWith('Fn::'))) {
    return intrinsic(key, arg, ctx);
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, resolve(v, ctx)]));
}

/** `resolve`, insisting on a string result. */
export function resolveString(value: unknown, ctx: ResolveContext): string {
  const out = resolve(value, ctx);
  if (typeof out === 'string') return out;
  if (typeof out === 'number' || typeof out === 'boolean') return String(out);
  throw new ResolveError(`expected a string, got ${JSON.stringify(out)}`);
}

function intrinsic(key: string, arg: unknown, ctx: ResolveContext): unknown {
  switch (key) {
    case 'Ref':
      return ref(String(arg), ctx);
    case 'Fn::GetAtt': {
      const [id, attribute] = Array.isArray(arg) ? arg : String(arg).split(/\.(.*)/s);
      return getAtt(String(id), resolveString(attribute, ctx), ctx);
    }
    case 'Fn::Join': {
      const [delimiter, list] = arg as [string, unknown];
      return asList(resolve(list, ctx))
        .map((item) => stringify(item))
        .join(delimiter);
    }
    case 'Fn::Select': {
      const [index, list] = arg as [unknown, unknown];
      const items = asList(resolve(list, ctx));
      const i = Number(resolve(index, ctx));
      if (!(i in items)) throw new ResolveError(`Fn::Select index ${i} is out of range`);
      return items[i];
    }
    case 'Fn::Split': {
      const [delimiter, source] = arg as [string, unknown];
      return resolveString(source, ctx).split(delimiter);
    }
    case 'Fn::Sub':
      return sub(arg, ctx);
    case 'Fn::ImportValue': {
      const name = resolveString(arg, ctx);
      if (!ctx.importValue) throw new ResolveError(`Fn::ImportValue ${name}: no other stack is loaded`);
      return ctx.importValue(name);
    }
    default:
      throw new ResolveError(`${key} is not supported by the local runtime`);
  }
}

function ref(name: string, ctx: ResolveContext): string {
  switch (name) {
    case 'AWS::Region':
      return ctx.pseudo.region;
    case 'AWS::AccountId':
      return ctx.pseudo.accountId;
    case 'AWS::Partition':
      return ctx.pseudo.partition;
    case 'AWS::URLSuffix':
      return ctx.pseudo.urlSuffix;
    case 'AWS::StackName':
      return ctx.pseudo.stackName;
  }
  const parameter = ctx.template.Parameters?.[name];
  if (parameter) {
    if (parameter.Default === undefined) throw new ResolveError(`parameter ${name} has no default`);
    return String(parameter.Default);
  }
  const physical = ctx.physical.get(name);
  if (physical?.ref === undefined) throw new ResolveError(`Ref ${name}: no local value`);
  return physical.ref;
}

function getAtt(id: string, attribute: string, ctx: ResolveContext): string {
  const value = ctx.physical.get(id)?.attributes[attribute];
  if (value === undefined) throw new ResolveError(`Fn::GetAtt ${id}.${attribute}: no local value`);
  return value;
}

/** `${Name}`, `${Name.Attr}`, `${AWS::Region}`, and `${!Literal}` for a literal `${Literal}`. */
function sub(arg: unknown, ctx: ResolveContext): string {
  const [source, variables] = Array.isArray(arg) ? (arg as [string, Record<string, unknown>]) : [String(arg), {}];
  return source.replace(/\$\{([^}]*)\}/g, (_match, name: string) => {
    if (name.startsWith('!')) return `\${${name.slice(1)}}`;
    if (name in variables) return resolveString(variables[name], ctx);
    const dot = name.indexOf('.');
    if (dot > 0 && !name.startsWith('AWS::')) return getAtt(name.slice(0, dot), name.slice(dot + 1), ctx);
    return ref(name, ctx);
  });
}

function asList(value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new ResolveError(`expected a list, got ${JSON.stringify(value)}`);
  return value;
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new ResolveError(`cannot join ${JSON.stringify(value)}`);
}
