export { resolveEnvironment } from './environment.js';
export { TemplateError, UnsupportedResourceError } from './errors.js';
export { ResolveError, resolve } from './intrinsics.js';
export { loadStack, loadStacks } from './load.js';
export { buildModel, loadModel, loadModels, resolveContext } from './model.js';
export type * from './types.js';
