export { hostRoutes, runtimeEnvironment } from './environment.js';
export { type LogSink, terminalSink } from './logs.js';
export { LambdaRuntime, type LambdaRuntimeOptions } from './runtime.js';
