import fc from 'fast-check';

/**
 * Generators shared by the fuzz tests: names per the distribution grammar, and hostile strings
 * (traversal, prototype keys, control characters, separators) mixed into otherwise valid input,
 * so that the parsers are driven past their first check.
 */

const lower = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789');
const alnum = fc.string({ unit: lower, minLength: 1, maxLength: 6 });

/** A path component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`. */
export const pathComponent = fc
  .tuple(alnum, fc.array(fc.tuple(fc.constantFrom('.', '_', '__', '-', '--'), alnum), { maxLength: 2 }))
  .map(([head, rest]) => head + rest.map(([sep, part]) => sep + part).join(''));

export const repositoryPath = fc
  .array(pathComponent, { minLength: 1, maxLength: 4 })
  .map((parts) => parts.join('/'));

export const tag = fc
  .tuple(
    fc.constantFrom(...'abcXYZ019_'),
    fc.string({ unit: fc.constantFrom(...'abcXYZ019_.-'), maxLength: 20 }),
  )
  .map(([first, rest]) => first + rest);

export const sha256Digest = fc
  .string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 })
  .map((hex) => `sha256:${hex}`);

/** A registry host: a dotted name, localhost or an IPv4 address, with or without a port. */
export const domain = fc
  .tuple(
    fc.oneof(
      fc.tuple(alnum, alnum).map(([a, b]) => `${a}.${b}`),
      fc.constant('localhost'),
      fc.ipV4(),
    ),
    fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
  )
  .map(([host, port]) => (port === undefined ? host : `${host}:${port}`));

/** Strings a sender may try: traversal, prototype keys, controls, separators, encodings. */
export const hostileString = fc.oneof(
  fc.constantFrom(
    '',
    '.',
    '..',
    '../..',
    '../../etc/passwd',
    'a/../b',
    'a/./b',
    '/a',
    'a/',
    'a//b',
    '%2e%2e',
    'a%2fb',
    '__proto__',
    'constructor',
    'toString',
    'prototype',
    'hasOwnProperty',
    'A',
    'a b',
    'a\u0000b',
    'a\nb',
    'a\u001b[2Jb',
    'a\u202eb',
    'a:b',
    'a@b',
    'a\\b',
    '-a',
    '.a',
    'a'.repeat(300),
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: fc.constantFrom(...'./_-:@a\\%'), maxLength: 12 }),
);

/** A valid value most of the time, a hostile one otherwise. */
export const mostly = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: valid, weight: 3 }, { arbitrary: hostileString, weight: 2 });
