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
