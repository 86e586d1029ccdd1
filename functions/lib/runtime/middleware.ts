import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger, metrics, tracer } from './observability.ts';

/**
 * What every crossdock handler gets around it: the Lambda context in its log lines, a trace
 * segment, and its metrics flushed at the end. Handlers stay plain async functions.
 */
export function observed<TEvent, TResult>(handler: (event: TEvent, context: Context) => Promise<TResult>) {
  // The function's name comes from the Lambda context (function_name on every line).
  return middy(handler)
    .use(injectLambdaContext(logger))
    .use(captureLambdaHandler(tracer))
    .use(logMetrics(metrics));
}
