/**
 * One partition per blob of a destination registry (`blob#<host>#<digest>`): its index entry
 * (`sk = holders`, BlobIndexStore) and its copy claim (`sk = claim`, BlobClaimStore).
 */
export const blobKey = (registry: string, digest: string, item: 'holders' | 'claim') => ({
  pk: `blob#${registry}#${digest}`,
  sk: item,
});
