import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import {
  JOB_INDEX_KEYS,
  JOB_INDEXES,
  type JobIndex,
  type JobIndexNames,
  LEGACY_JOB_INDEXES,
} from '../../functions/lib/stores/job-indexes.ts';

/**
 * The steps of a deployed table's move from the indexes it was made with before 2026-12-01
 * (`gsi1`, `gsi2`: ALL attributes, so every write of a job was written to both) to the
 * keys-only ones (`jobsByPolicy`, `jobsByStatus`). CloudFormation creates or deletes one index
 * per update, and an index cannot change its projection in place, so it takes four deploys:
 * each step adds or drops one index, and the functions query an index only from the deploy
 * after the one that created it. CloudFormation does not wait for DynamoDB to build an index,
 * and a query to one still being built fails, so the operator waits until it is ACTIVE before
 * the next step (docs/deploy.md). No step: a table made keys-only, or one whose move is done.
 */
export const INDEX_MIGRATION_STEPS = [1, 2, 3] as const;
export type IndexMigrationStep = (typeof INDEX_MIGRATION_STEPS)[number];

interface IndexLayout {
  /** The table's indexes: their names, each with the projection it is made with. */
  indexes: { which: JobIndex; name: string; keysOnly: boolean }[];
  /** The indexes the functions query. */
  query: JobIndexNames;
}

const legacy = (which: JobIndex) => ({ which, name: LEGACY_JOB_INDEXES[which], keysOnly: false });
const keysOnly = (which: JobIndex) => ({ which, name: JOB_INDEXES[which], keysOnly: true });

export function indexLayout(step: IndexMigrationStep | undefined): IndexLayout {
  switch (step) {
    case 1: // add jobsByPolicy
      return {
        indexes: [legacy('byPolicy'), legacy('byStatus'), keysOnly('byPolicy')],
        query: LEGACY_JOB_INDEXES,
      };
    case 2: // add jobsByStatus; list by policy from jobsByPolicy
      return {
        indexes: [legacy('byPolicy'), legacy('byStatus'), keysOnly('byPolicy'), keysOnly('byStatus')],
        query: { byPolicy: JOB_INDEXES.byPolicy, byStatus: LEGACY_JOB_INDEXES.byStatus },
      };
    case 3: // drop gsi1; list by status from jobsByStatus
      return {
        indexes: [legacy('byStatus'), keysOnly('byPolicy'), keysOnly('byStatus')],
        query: JOB_INDEXES,
      };
    default: // drop gsi2: done
      return { indexes: [keysOnly('byPolicy'), keysOnly('byStatus')], query: JOB_INDEXES };
  }
}

export interface JobStoreProps {
  /** The step of the move from the older indexes (context `indexMigrationStep`); none for a new table. */
  indexMigrationStep?: IndexMigrationStep | undefined;
}

/**
 * The records: one DynamoDB table for jobs, tag locks, leases and the config
 * (registries, sources, policies), keyed `pk`/`sk`, with jobs indexed by policy and by status
 * (functions/lib/stores/job-indexes.ts). Expiring items (leases, and final jobs
 * `records.keepDays` after they finished) carry `expiresAt` for DynamoDB TTL, which deletes them
 * with their index entries.
 */
export class JobStore extends Construct {
  readonly table: Table;
  /** The index names the functions get (`JOB_INDEXES`: "<by policy>,<by status>"). */
  readonly queriedIndexes: JobIndexNames;

  constructor(scope: Construct, id: string, props: JobStoreProps = {}) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expiresAt',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const layout = indexLayout(props.indexMigrationStep);
    for (const index of layout.indexes) {
      const keys = JOB_INDEX_KEYS[index.which];
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: `${keys}pk`, type: AttributeType.STRING },
        sortKey: { name: `${keys}sk`, type: AttributeType.STRING },
        projectionType: index.keysOnly ? ProjectionType.KEYS_ONLY : ProjectionType.ALL,
      });
    }
    this.queriedIndexes = layout.query;
  }
}
