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

interface Manifest {
  artifacts?: Record<string, { type: string; displayName?: string; properties?: { templateFile?: string } }>;
}

/**
 * Reads one stack's template from a cloud assembly. The stack is picked from `manifest.json` (the artifacts of type
 * `aws:cloudformation:stack`), by artifact id or display name; without a name the assembly must hold exactly one.
 */
export function loadStack(cdkOut: string, stack?: string): LoadedStack {
  const dir = resolve(cdkOut);
  const manifestFile = join(dir, 'manifest.json');
  if (!existsSync(manifestFile)) throw new TemplateError(`no cloud assembly at ${dir} (run \`npx cdk synth\` first)`);
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
  const stacks = Object.entries(manifest.artifacts ?? {}).filter(([, a]) => a.type === 'aws:cloudformation:stack');
  if (stacks.length === 0) throw new TemplateError(`the cloud assembly at ${dir} holds no stack`);
  const names = stacks.map(([id]) => id);
  const chosen = stack ? stacks.find(([id, a]) => id === stack || a.displayName === stack) : stacks[0];
  if (!chosen) throw new TemplateError(`stack ${stack} is not in ${dir} (found: ${names.join(', ')})`);
  if (!stack && stacks.length > 1) {
    throw new TemplateError(`${dir} holds several stacks (${names.join(', ')}); choose one with --stack`);
  }
  const [stackName, artifact] = chosen;
  const templateFile = join(dir, artifact.properties?.templateFile ?? `${stackName}.template.json`);
  if (!existsSync(templateFile)) throw new TemplateError(`${templateFile} is missing (run \`npx cdk synth\` again)`);
  const template = JSON.parse(readFileSync(templateFile, 'utf8')) as CfnTemplate;
  return { stackName, cdkOut: dir, templateFile, template: { ...template, Resources: template.Resources ?? {} } };
}
