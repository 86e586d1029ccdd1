import { describe, expect, it } from 'vitest';
import { SettingsError, settingsFromEnvironment } from '../../../functions/lib/app/settings.ts';

const BASE = { TABLE_NAME: 'records', JOB_QUEUE_URL: 'https://sqs.example/jobs' };

describe("a function's settings from its environment", () => {
  it('queries the job indexes the stack names in JOB_INDEXES, by policy then by status', () => {
    const settings = settingsFromEnvironment({ ...BASE, JOB_INDEXES: 'jobsByPolicy,gsi2' });

    expect(settings.jobIndexes).toEqual({ byPolicy: 'jobsByPolicy', byStatus: 'gsi2' });
  });

  it('leaves the job indexes to the store’s default when JOB_INDEXES is unset', () => {
    expect(settingsFromEnvironment(BASE).jobIndexes).toBeUndefined();
  });

  it('refuses a JOB_INDEXES that is not two index names, saying what it must be', () => {
    for (const value of ['jobsByPolicy', 'a,b', 'jobsByPolicy,jobsByStatus,extra', 'jobs by policy,x1y']) {
      const attempt = () => settingsFromEnvironment({ ...BASE, JOB_INDEXES: value });
      expect(attempt, value).toThrow(SettingsError);
      expect(attempt, value).toThrow(/JOB_INDEXES: two index names, by policy and by status/);
    }
  });
});
