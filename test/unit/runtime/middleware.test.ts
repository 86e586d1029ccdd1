import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { observed } from '../../../functions/lib/runtime/middleware.ts';
import { metrics } from '../../../functions/lib/runtime/observability.ts';

const context = {
  functionName: 'crossdock-test',
  awsRequestId: 'request-1',
  getRemainingTimeInMillis: () => 1000,
} as unknown as Context;

describe('observed handlers', () => {
  // The tests' environment disables metrics; these handlers are built as deployed ones are.
  beforeEach(() => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('publishes the metrics an invocation recorded, and nothing (no "no metrics" warning) when it recorded none', async () => {
    const published = vi.spyOn(metrics, 'publishStoredMetrics');
    const counting = observed(async (event: { count: boolean }) => {
      if (event.count) metrics.addMetric('Counted', MetricUnit.Count, 1);
      return 'done';
    });

    expect(await counting({ count: false }, context)).toBe('done');
    expect(published).not.toHaveBeenCalled();
    expect(await counting({ count: true }, context)).toBe('done');
    expect(published).toHaveBeenCalledTimes(1);
    expect(metrics.hasStoredMetrics()).toBe(false);
  });

  it('publishes what a failing invocation recorded before it failed', async () => {
    const published = vi.spyOn(metrics, 'publishStoredMetrics');
    const failing = observed(async () => {
      metrics.addMetric('Tried', MetricUnit.Count, 1);
      throw new Error('boom');
    });

    await expect(failing({}, context)).rejects.toThrow('boom');
    expect(published).toHaveBeenCalledTimes(1);
  });
});
