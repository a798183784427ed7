import { TemplateError, UnsupportedResourceError } from './errors.js';
import { type ResolveContext, ResolveError, resolveString } from './intrinsics.js';
import { originOf } from './origin.js';
import { INERT_TYPES } from './support.js';
import type { StackExport, TemplateModel } from './types.js';

/**
 * Links the stacks of one assembly as CloudFormation does: every `Outputs.*.Export.Name` is a name other stacks
 * may `Fn::ImportValue`. Each import is checked here, while loading, so an import nothing exports is refused at
 * start-up with the importing resource's CDK path rather than failing at a function's first invocation.
 * Returns the stacks in CloudFormation's deploy order: every stack after the stacks it imports from.
 */
export function linkStacks(
  models: TemplateModel[],
  contextOf: (model: TemplateModel) => ResolveContext,
): TemplateModel[] {
  const exported = new Map<string, StackExport>();
  for (const model of models) {
    for (const [outputId, output] of Object.entries(model.template.Outputs ?? {})) {
      const { Value, Export } = output as { Value?: unknown; Export?: { Name?: unknown } };
      if (Export?.Name === undefined) continue;
      const name = resolveString(Export.Name, contextOf(model));
      const other = exported.get(name);
      // CloudFormation refuses a second export of the same name in one region.
      if (other) {
        throw new TemplateError(`export ${name} is declared by both ${other.model.stackName} and ${model.stackName}`);
      }
      exported.set(name, { model, outputId, value: Value });
    }
  }
  const loaded = models.map((m) => m.stackName).join(', ');
  const sources = new Map<TemplateModel, Set<TemplateModel>>();
  for (const model of models) {
    model.imports = exported;
    sources.set(model, new Set());
    for (const [logicalId, resource] of Object.entries(model.template.Resources)) {
      // Permissions and the like are never evaluated locally, so what they import does not matter here.
      if (INERT_TYPES.has(resource.Type)) continue;
      for (const [property, value] of Object.entries(resource.Properties ?? {})) {
        for (const name of importedNames(value, contextOf(model))) {
          const source = exported.get(name);
          const problem = !source
            ? `Fn::ImportValue ${name}: no stack of those loaded (${loaded}) exports it; run the exporting stack too`
            : source.model === model
              ? `Fn::ImportValue ${name}: a stack cannot import its own export`
              : undefined;
          if (problem) {
            throw new UnsupportedResourceError(originOf(logicalId, resource).path, resource.Type, property, problem);
          }
          if (source) sources.get(model)?.add(source.model);
        }
      }
    }
  }
  return deployOrder(models, sources);
}

/** The export names `value` imports; names built from intrinsics are resolved (pseudo parameters, mostly). */
function importedNames(value: unknown, ctx: ResolveContext, found: string[] = []): string[] {
  if (Array.isArray(value)) {
    for (const v of value) importedNames(v, ctx, found);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, arg] of Object.entries(value)) {
      if (key !== 'Fn::ImportValue') importedNames(arg, ctx, found);
      else {
        try {
          found.push(resolveString(arg, ctx));
        } catch (err) {
          if (!(err instanceof ResolveError)) throw err;
          throw new ResolveError(`Fn::ImportValue: its name cannot be resolved locally (${err.message})`);
        }
      }
    }
  }
  return found;
}

function deployOrder(models: TemplateModel[], sources: Map<TemplateModel, Set<TemplateModel>>): TemplateModel[] {
  const ordered: TemplateModel[] = [];
  const visit = (model: TemplateModel, path: TemplateModel[]) => {
    if (ordered.includes(model)) return;
    if (path.includes(model)) {
      const cycle = [...path, model].map((m) => m.stackName).join(' → ');
      throw new TemplateError(`the stacks ${cycle} import from each other`);
    }
    for (const source of sources.get(model) ?? []) visit(source, [...path, model]);
    ordered.push(model);
  };
  for (const model of models) visit(model, []);
  return ordered;
}
