import type { Context } from 'aws-lambda';
import type { FunctionLimits } from '../limits.ts';
import { lambdaContext } from './lambda-context.ts';

/**
 * A Lambda function as the local runtime runs it, with the limits AWS enforces and the CDK
 * stack deploys (infra/limits.ts):
 * - beyond its reserved concurrency an invocation is refused with the error Step Functions'
 *   lambda:invoke reports, `Lambda.TooManyRequestsException`;
 * - an invocation still running at its timeout fails as `Sandbox.Timedout`, and its work is
 *   aborted through the context's `abortSignal` (AWS freezes the sandbox instead: the code
 *   never gets further either).
 * The handler is called as Lambda calls it, with a Context whose remaining time counts down.
 */

/** The Context of a local invocation: AWS's, plus a signal that aborts when it must stop. */
export type LocalContext = Context & { abortSignal: AbortSignal };

export class LambdaThrottledError extends Error {
  override name = 'Lambda.TooManyRequestsException';
}

export class LambdaTimeoutError extends Error {
  override name = 'Sandbox.Timedout';
}

export interface FunctionStats {
  invocations: number;
  throttles: number;
  timeouts: number;
}

export type LambdaHandler<Event, Result> = (event: Event, context: Context) => Promise<Result>;

export class LocalFunction<Event, Result> {
  readonly name: string;
  readonly limits: FunctionLimits;
  readonly stats: FunctionStats = { invocations: 0, throttles: 0, timeouts: 0 };
  readonly #handler: LambdaHandler<Event, Result>;
  #inFlight = 0;

  constructor(name: string, handler: LambdaHandler<Event, Result>, limits: FunctionLimits) {
    this.name = name;
    this.#handler = handler;
    this.limits = limits;
  }

  /** One invocation; `signal` aborts it from outside (its execution ended, the runtime stops). */
  async invoke(
    event: Event,
    options: { signal?: AbortSignal | undefined; requestId?: string } = {},
  ): Promise<Result> {
    const reserved = this.limits.reservedConcurrency;
    if (reserved !== undefined && this.#inFlight >= reserved) {
      this.stats.throttles++;
      throw new LambdaThrottledError(
        `Rate Exceeded: ${this.name} runs ${this.#inFlight} invocations, its reserved concurrency`,
      );
    }
    this.stats.invocations++;
    this.#inFlight++;
    const timeoutMs = this.limits.timeoutSeconds * 1000;
    const controller = new AbortController();
    const outside = options.signal;
    const abortFromOutside = () => controller.abort(outside?.reason);
    if (outside?.aborted) abortFromOutside();
    else outside?.addEventListener('abort', abortFromOutside, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        this.stats.timeouts++;
        const error = new LambdaTimeoutError(
          `${this.name} timed out after ${this.limits.timeoutSeconds} seconds`,
        );
        controller.abort(error);
        reject(error);
      }, timeoutMs);
    });
    const context: LocalContext = {
      ...lambdaContext(this.name, timeoutMs, options.requestId),
      abortSignal: controller.signal,
    };
    try {
      return await Promise.race([this.#handler(event, context), timedOut]);
    } finally {
      clearTimeout(timer);
      outside?.removeEventListener('abort', abortFromOutside);
      // A timed-out invocation's slot is free again at its timeout, as AWS frees the sandbox.
      this.#inFlight--;
    }
  }
}
