import { join } from 'node:path';
import type { FunctionModel } from '../../local/template/types.js';

/** A function of a made-up app `App` whose asset is `taskRoot` (its handler `index.handler`), as the loader builds it. */
export function functionModel(id: string, taskRoot: string, runtime = 'nodejs24.x'): FunctionModel {
  return {
    logicalId: id,
    path: `App/${id}/Resource`,
    name: id,
    displayName: id,
    arn: `arn:aws:lambda:us-east-1:000000000000:function:${id}`,
    handler: 'index.handler',
    taskRoot,
    handlerFile: join(taskRoot, 'index.js'),
    handlerExport: 'handler',
    runtime,
    timeoutSeconds: 3,
    memoryMb: 128,
    environment: {},
  };
}
