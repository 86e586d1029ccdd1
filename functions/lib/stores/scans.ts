import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { TableStore } from './table-store.ts';

/**
 * Policy scans that were asked for and have not finished: a scan interrupted by a crash or a
 * restart is started again with the same id, which derives the same job ids (nothing twice).
 * One item per scan under the partition `scan`; a finished scan's item is deleted.
 */
export interface ScanRecord {
  scanId: string;
  policy: string;
  /**
   * `cancel`: a background cancel of a disabled policy's jobs (api/policy-jobs.ts); `sync`: a
   * reconciliation run (functions/lib/drift), started by the schedule or by hand (`trigger`).
   */
  kind?: 'cancel' | 'sync';
  trigger?: 'schedule' | 'manual';
  startedAt: string;
}

type ScanStart = Pick<ScanRecord, 'scanId' | 'policy'> & {
  kind?: ScanRecord['kind'] | undefined;
  trigger?: ScanRecord['trigger'] | undefined;
};

const PARTITION = 'scan';

export class ScanStore extends TableStore {
  async started(request: ScanStart): Promise<void> {
    const startedAt = this.iso();
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: PARTITION,
          sk: request.scanId,
          scanId: request.scanId,
          policy: request.policy,
          ...(request.kind === undefined ? {} : { kind: request.kind }),
          ...(request.trigger === undefined ? {} : { trigger: request.trigger }),
          startedAt,
        },
      }),
    );
  }

  async finished(scanId: string): Promise<void> {
    await this.client.send(
      new DeleteCommand({ TableName: this.tableName, Key: { pk: PARTITION, sk: scanId } }),
    );
  }

  async unfinished(): Promise<ScanRecord[]> {
    return (await this.queryPartition(PARTITION)).map((item) => ({
      scanId: item.scanId as string,
      policy: item.policy as string,
      ...(item.kind === 'cancel' || item.kind === 'sync' ? { kind: item.kind } : {}),
      ...(item.trigger === 'schedule' || item.trigger === 'manual' ? { trigger: item.trigger } : {}),
      startedAt: item.startedAt as string,
    }));
  }
}
