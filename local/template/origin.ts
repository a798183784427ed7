import type { CfnResource, ResourceOrigin } from './types.js';

export function originOf(logicalId: string, resource: CfnResource): ResourceOrigin {
  const path = resource.Metadata?.['aws:cdk:path'];
  return { logicalId, path: typeof path === 'string' ? path : logicalId };
}

/** `Stack/Deliver/Resource` → `Deliver`: the construct the user named, for logs and the spy. */
export function displayNameOf(origin: ResourceOrigin): string {
  const parts = origin.path.split('/');
  if (parts.length > 1) parts.shift();
  if (parts.length > 1 && parts.at(-1) === 'Resource') parts.pop();
  return parts.join('/');
}
