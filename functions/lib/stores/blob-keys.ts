import { BLOB_INDEX_TTL_DAYS } from '#config/defaults.ts';

/**
 * One item per blob of a destination registry (`pk = blob#<host>#<digest>`, `sk = holders`):
 * its index entry (BlobIndexStore: the repositories holding it) and its copy claim
 * (BlobClaimStore: who copies it now), kept together so that one conditional write takes the
 * claim only while no repository holds the blob, and one gives it up while naming the holder.
 */
export const blobKey = (registry: string, digest: string) => ({
  pk: `blob#${registry}#${digest}`,
  sk: 'holders',
});

/**
 * How long a repository named as holding a blob stays known (`expiresAt`, DynamoDB's TTL), as
 * both stores write it: BlobIndexStore when a blob is copied, mounted or found present there,
 * BlobClaimStore when the copy its claim covered lands.
 */
export const HELD_FOR_SECONDS = BLOB_INDEX_TTL_DAYS * 86_400;
