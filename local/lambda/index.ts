export { newLogStreamName } from './context.js';
export { runtimeEnvironment } from './environment.js';
export { type LogSink, terminalSink } from './logs.js';
export { FunctionPool } from './pool.js';
export { LambdaRuntime, type LambdaRuntimeOptions } from './runtime.js';
