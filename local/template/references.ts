import type { CfnTemplate } from './types.js';

/**
 * The logical ids a value refers to through `Ref`, `Fn::GetAtt` or `Fn::Sub`. The runtime follows these edges
 * (Route → Integration → Function, EventSourceMapping → Queue) instead of trusting logical ids or string shapes.
 */
export function referencedIds(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) referencedIds(v, found);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, arg] of Object.entries(value)) {
      if (key === 'Ref' && typeof arg === 'string') found.add(arg);
      else if (key === 'Fn::GetAtt') found.add(Array.isArray(arg) ? String(arg[0]) : (String(arg).split('.')[0] ?? ''));
      else if (key === 'Fn::Sub') subReferences(arg, found);
      else referencedIds(arg, found);
    }
  }
  return found;
}

function subReferences(arg: unknown, found: Set<string>): void {
  const [source, variables] = Array.isArray(arg) ? (arg as [string, Record<string, unknown>]) : [String(arg), {}];
  for (const [, name] of source.matchAll(/\$\{([^}!][^}]*)\}/g)) {
    if (name && !(name in variables)) found.add(name.split('.')[0] ?? name);
  }
  referencedIds(variables, found);
}

/** The logical ids of the resources of `type` that `value` refers to. */
export function referencesOfType(template: CfnTemplate, value: unknown, type: string): string[] {
  return [...referencedIds(value)].filter((id) => template.Resources[id]?.Type === type);
}
