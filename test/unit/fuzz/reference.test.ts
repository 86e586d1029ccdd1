import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidReferenceError } from '../../../functions/lib/registry/errors.ts';
import {
  formatReference,
  parseReference,
  validateDigest,
  validateRepository,
  validateTag,
} from '../../../functions/lib/registry/reference.ts';
import { domain, hostileString, mostly, repositoryPath, sha256Digest, tag } from './arbitraries.ts';

/**
 * Image references (functions/lib/registry/reference.ts) against generated input: only
 * InvalidReferenceError is ever thrown, nothing outside the distribution grammar is accepted,
 * and what is accepted prints and parses back to itself.
 */

const RUNS = { numRuns: 1000 };
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** The parsed reference, or the error it threw, which must be the module's own. */
function attempt(text: string) {
  try {
    return parseReference(text);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidReferenceError);
    return undefined;
  }
}

/** Text shaped like a reference whose parts are valid or hostile. */
const referenceLike = fc
  .tuple(
    fc.option(mostly(domain), { nil: undefined }),
    mostly(repositoryPath),
    fc.option(mostly(tag), { nil: undefined }),
    fc.option(mostly(sha256Digest), { nil: undefined }),
    fc.boolean(),
  )
  .map(
    ([host, repository, t, digest, transport]) =>
      `${transport ? 'docker://' : ''}${host === undefined ? '' : `${host}/`}${repository}${t === undefined ? '' : `:${t}`}${digest === undefined ? '' : `@${digest}`}`,
  );

describe('fuzz: image references', () => {
  it('throws nothing but InvalidReferenceError, whatever the text', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), hostileString, referenceLike),
        (text) => {
          attempt(text);
        },
      ),
      RUNS,
    );
  });

  it('accepts only names, tags and digests of the grammar: no traversal, no empty or upper-case component', () => {
    fc.assert(
      fc.property(fc.oneof(referenceLike, hostileString), (text) => {
        const ref = attempt(text);
        if (ref === undefined) return;
        for (const component of ref.repository.split('/')) expect(component).toMatch(PATH_COMPONENT);
        expect(ref.domain).not.toMatch(/[/\s@\p{Cc}]/u);
        if (ref.tag !== undefined) expect(ref.tag).toMatch(TAG);
        if (ref.digest !== undefined) expect(() => validateDigest(ref.digest as string)).not.toThrow();
        expect(() => validateRepository(ref.repository)).not.toThrow();
      }),
      RUNS,
    );
  });

  it('round-trips: the printed form of an accepted reference parses to the same reference', () => {
    fc.assert(
      fc.property(fc.oneof(referenceLike, hostileString), (text) => {
        const ref = attempt(text);
        if (ref === undefined) return;
        const printed = formatReference(ref);
        expect(parseReference(printed)).toEqual(ref);
        expect(formatReference(parseReference(printed))).toBe(printed);
      }),
      RUNS,
    );
  });

  it('parses every reference built from the grammar into its parts', () => {
    fc.assert(
      fc.property(domain, repositoryPath, tag, sha256Digest, (host, repository, t, digest) => {
        expect(parseReference(`${host}/${repository}:${t}@${digest}`)).toEqual({
          domain: host,
          repository,
          tag: t,
          digest,
        });
      }),
      RUNS,
    );
  });

  it('the validators throw only InvalidReferenceError and accept only the grammar', () => {
    fc.assert(
      fc.property(hostileString, (text) => {
        for (const [validate, grammar] of [
          [validateTag, TAG],
          [validateRepository, undefined],
          [validateDigest, undefined],
        ] as const) {
          let accepted = true;
          try {
            validate(text);
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidReferenceError);
            accepted = false;
          }
          if (accepted && grammar) expect(text).toMatch(grammar);
          if (accepted && validate === validateRepository)
            for (const component of text.split('/')) expect(component).toMatch(PATH_COMPONENT);
        }
      }),
      RUNS,
    );
  });
});
