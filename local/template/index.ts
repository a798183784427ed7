export { resolveEnvironment, rewriteApiEndpoint } from './environment.js';
export { TemplateError, UnsupportedResourceError } from './errors.js';
export { ResolveError, resolve, resolveString } from './intrinsics.js';
export { loadStack } from './load.js';
export { buildModel, LOCAL_ACCOUNT, loadModel, resolveContext } from './model.js';
export type * from './types.js';
