import { Logger } from '@aws-lambda-powertools/logger';

/** One logger per container; service name and level come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_LOG_LEVEL. */
export const logger = new Logger();
