import { clientsFor, startServices } from '../../local/services/index.js';
import { loadModel, resolveContext, resolveEnvironment } from '../../local/template/index.js';
import { provision } from '../../local/template/provision.js';

export interface Backend {
  /** The union of every Postbox function's environment, resolved to the emulated resources. */
  env: Record<string, string>;
  clients: ReturnType<typeof clientsFor>;
  stop(): Promise<void>;
}

/**
 * Starts fauxqs, dynalite and the Secrets Manager stand-in on loopback and creates in them what the synthesized
 * Postbox template declares, with the local runtime's own provisioning and resolution, so the handler tests (which
 * import the handlers' source in-process) run against the production keys, indexes and environment.
 */
export async function startBackend(): Promise<Backend> {
  const model = loadModel('cdk.out');
  const services = await startServices({ region: model.region });
  await provision(model, services);
  const ctx = resolveContext(model);
  const env: Record<string, string> = {
    AWS_REGION: services.region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_SQS: services.sqs,
    AWS_ENDPOINT_URL_DYNAMODB: services.dynamodb,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: services.secretsManager,
  };
  for (const fn of model.functions.values()) Object.assign(env, resolveEnvironment(fn, ctx, undefined));
  // Rejected frames and deliveries log at INFO; the tests assert on them instead.
  env.POWERTOOLS_LOG_LEVEL = 'WARN';
  return { env, clients: clientsFor(services), stop: () => services.stop() };
}
