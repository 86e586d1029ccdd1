import { describe, expect, it } from 'vitest';
import { linkLocalReason } from '#net/link-local.ts';

describe('link-local and cloud metadata hosts', () => {
  it.each([
    '169.254.169.254',
    '169.254.0.1',
    '[fe80::1]',
    '[febf::1]',
    '[::ffff:a9fe:a9fe]',
    '100.100.100.200',
    '[fd00:ec2::254]',
    'metadata.google.internal',
    'Metadata.Google.Internal.',
    'metadata.goog',
    'instance-data.ec2.internal',
  ])('names %s as one', (host) => {
    expect(linkLocalReason(host)).toBeDefined();
  });

  it.each([
    '127.0.0.1',
    '127.0.0.2',
    '[::1]',
    '10.0.0.1',
    '100.100.100.201',
    '[fd00:ec2::253]',
    'registry.example.com',
    'metadata.example.com',
  ])('lets %s pass', (host) => {
    expect(linkLocalReason(host)).toBeUndefined();
  });
});
