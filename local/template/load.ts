import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TemplateError } from './errors.js';
import type { CfnTemplate } from './types.js';

export interface LoadedStack {
  stackName: string;
  cdkOut: string;
  templateFile: string;
  template: CfnTemplate;
}

interface Artifact {
  type: string;
  displayName?: string;
  properties?: { templateFile?: string };
}

interface Manifest {
  artifacts?: Record<string, Artifact>;
}

/**
 * Reads one stack's template from a cloud assembly. The stack is picked from `manifest.json` (the artifacts of type
 * `aws:cloudformation:stack`), by artifact id or display name; without a name the assembly must hold exactly one.
 */
export function loadStack(cdkOut: string, stack?: string): LoadedStack {
  const dir = resolve(cdkOut);
  const stacks = stackArtifacts(dir);
  if (!stack && stacks.length > 1) {
    throw new TemplateError(
      `${dir} holds several stacks (${stacks.map(([id]) => id).join(', ')}); choose one with --stack`,
    );
  }
  const [only] = loadStacks(dir, stack ? [stack] : undefined);
  if (!only) throw new TemplateError(`the cloud assembly at ${dir} holds no stack`);
  return only;
}

/**
 * Reads the templates of the stacks named (artifact id or display name), or of every stack of the assembly when
 * none is named, in the manifest's order: the stacks of one app are deployed, and run, together.
 */
export function loadStacks(cdkOut: string, names?: string[]): LoadedStack[] {
  const dir = resolve(cdkOut);
  const stacks = stackArtifacts(dir);
  const chosen =
    names && names.length > 0
      ? names.map((name) => {
          const found = stacks.find(([id, a]) => id === name || a.displayName === name);
          if (!found) {
            throw new TemplateError(`stack ${name} is not in ${dir} (found: ${stacks.map(([id]) => id).join(', ')})`);
          }
          return found;
        })
      : stacks;
  return [...new Set(chosen)].map(([stackName, artifact]) => {
    const templateFile = join(dir, artifact.properties?.templateFile ?? `${stackName}.template.json`);
    if (!existsSync(templateFile)) throw new TemplateError(`${templateFile} is missing (run \`npx cdk synth\` again)`);
    const template = JSON.parse(readFileSync(templateFile, 'utf8')) as CfnTemplate;
    return { stackName, cdkOut: dir, templateFile, template: { ...template, Resources: template.Resources ?? {} } };
  });
}

function stackArtifacts(dir: string): [string, Artifact][] {
  const manifestFile = join(dir, 'manifest.json');
  if (!existsSync(manifestFile)) throw new TemplateError(`no cloud assembly at ${dir} (run \`npx cdk synth\` first)`);
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
  const stacks = Object.entries(manifest.artifacts ?? {}).filter(([, a]) => a.type === 'aws:cloudformation:stack');
  if (stacks.length === 0) throw new TemplateError(`the cloud assembly at ${dir} holds no stack`);
  return stacks;
}
