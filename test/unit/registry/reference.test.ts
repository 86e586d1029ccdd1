import { describe, expect, it } from 'vitest';
import { InvalidReferenceError } from '#registry/errors.ts';
import { formatReference, isLoopbackHost, parseReference } from '#registry/reference.ts';

describe('parseReference', () => {
  it('reads host, port, nested repository and tag', () => {
    expect(parseReference('127.0.0.1:5000/team-a/x/app:v1.2')).toEqual({
      domain: '127.0.0.1:5000',
      repository: 'team-a/x/app',
      tag: 'v1.2',
    });
  });

  it('accepts the docker:// prefix and a digest', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(parseReference(`docker://registry.example.com/app@${digest}`)).toEqual({
      domain: 'registry.example.com',
      repository: 'app',
      digest,
    });
  });

  it('keeps both tag and digest when given both', () => {
    const digest = `sha256:${'b'.repeat(64)}`;
    expect(parseReference(`localhost:5000/app:v1@${digest}`)).toMatchObject({ tag: 'v1', digest });
  });

  it('defaults to docker.io, library/ and latest like Docker does', () => {
    expect(parseReference('alpine')).toEqual({
      domain: 'docker.io',
      repository: 'library/alpine',
      tag: 'latest',
    });
    expect(parseReference('user/app')).toEqual({
      domain: 'docker.io',
      repository: 'user/app',
      tag: 'latest',
    });
  });

  it('leaves the tag out when asked not to default it', () => {
    expect(parseReference('localhost:5000/app', { defaultTag: false })).toEqual({
      domain: 'localhost:5000',
      repository: 'app',
    });
  });

  it.each([
    ['127.0.0.1:5000/Team/app', /lowercase/],
    ['127.0.0.1:5000/app:-bad', /tag "-bad" is invalid/],
    ['127.0.0.1:5000/app@sha256:1234', /64 lowercase hex/],
    ['127.0.0.1:5000//app', /empty path component/],
    ['127.0.0.1:5000/a__-b', /not a valid path component/],
    ['localhost:5000', /names no repository/],
    ['https://127.0.0.1:5000/app', /only the docker:\/\/ transport/],
    ['', /it is empty/],
  ])('refuses %j, saying why', (input, why) => {
    expect(() => parseReference(input)).toThrow(InvalidReferenceError);
    expect(() => parseReference(input)).toThrow(why);
  });

  it('prints what it parsed', () => {
    const text = `127.0.0.1:5000/team-a/app:v1@sha256:${'c'.repeat(64)}`;
    expect(formatReference(parseReference(text))).toBe(text);
  });
});

describe('isLoopbackHost', () => {
  it('knows loopback addresses with and without ports', () => {
    expect(isLoopbackHost('127.0.0.1:5000')).toBe(true);
    expect(isLoopbackHost('127.3.2.1')).toBe(true);
    expect(isLoopbackHost('localhost:80')).toBe(true);
    expect(isLoopbackHost('[::1]:5000')).toBe(true);
    expect(isLoopbackHost('registry.example.com')).toBe(false);
    expect(isLoopbackHost('10.0.0.1:5000')).toBe(false);
  });
});
