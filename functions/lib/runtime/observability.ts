import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { InvocationLogFormatter } from './invocation-log.ts';

/**
 * Logger and Metrics, created once per process at module scope as Powertools recommends; every
 * handler shares them (the Tracer, in a Lambda only: tracing.ts). Logs are JSON lines; keys that
 * may hold secrets are never logged (handlers log job ids, registry names and repositories, not
 * payloads or URLs).
 */
export const logger = new Logger({ serviceName: 'crossdock', logFormatter: new InvocationLogFormatter() });
// Its own warnings ("no metrics to publish") go through the logger, so they follow its level.
export const metrics = new Metrics({ namespace: 'crossdock', serviceName: 'crossdock', logger });
