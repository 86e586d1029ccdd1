import { InvalidReferenceError } from './errors.ts';

/**
 * Image references per the distribution grammar (distribution/reference):
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [ domain "/" ] path-component { "/" path-component }
 * With Docker's defaults: no domain means docker.io, and a one-component
 * docker.io name lives under `library/`.
 */

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const SHA256_HEX = /^[a-f0-9]{64}$/;
const MAX_NAME_LENGTH = 255;

export const DOCKER_HUB_DOMAIN = 'docker.io';
/** Where docker.io's registry API actually lives. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';

export interface ImageReference {
  /** `host[:port]`, e.g. `127.0.0.1:5000` or `docker.io`. */
  domain: string;
  /** Repository path inside the registry, e.g. `team-a/app`. */
  repository: string;
  tag?: string;
  digest?: string;
}

function fail(input: string, why: string): never {
  throw new InvalidReferenceError(`invalid reference "${input}": ${why}`);
}

function isDomain(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost';
}

/** Checks `host[:port]` (IPv6 in brackets allowed). */
export function validateDomain(domain: string, input = domain): void {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:]+)(?::(\d+))?$/.exec(domain);
  if (!match) fail(input, `"${domain}" is not a valid registry host[:port]`);
  const [, host = '', port] = match;
  if (!host.startsWith('[') && !host.split('.').every((c) => DOMAIN_COMPONENT.test(c))) {
    fail(input, `"${host}" is not a valid registry host name`);
  }
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    fail(input, `port ${port} is out of range`);
  }
}

/** Checks a repository path such as `team-a/app`, naming the offending component. */
export function validateRepository(repository: string, input = repository): void {
  if (repository === '') fail(input, 'the repository name is empty');
  if (repository.length > MAX_NAME_LENGTH)
    fail(input, `the name is longer than ${MAX_NAME_LENGTH} characters`);
  for (const component of repository.split('/')) {
    if (component === '') fail(input, 'the repository name has an empty path component');
    if (component !== component.toLowerCase())
      fail(input, `repository names must be lowercase ("${component}")`);
    if (!PATH_COMPONENT.test(component)) {
      fail(input, `"${component}" is not a valid path component (letters, digits and . _ __ - separators)`);
    }
  }
}

export function validateTag(tag: string, input = tag): void {
  if (!TAG.test(tag))
    fail(input, `tag "${tag}" is invalid (up to 128 of [A-Za-z0-9_.-], not starting with . or -)`);
}

export function validateDigest(digest: string, input = digest): void {
  if (!DIGEST.test(digest)) fail(input, `digest "${digest}" is not of the form algorithm:hex`);
  const [algorithm, hex = ''] = digest.split(':');
  if (algorithm === 'sha256' && !SHA256_HEX.test(hex))
    fail(input, 'a sha256 digest has 64 lowercase hex digits');
  if (algorithm !== 'sha256' && algorithm !== 'sha512')
    fail(input, `digest algorithm "${algorithm}" is not supported`);
}

/**
 * Parses `[docker://]host[:port]/repo[:tag][@digest]`. Without tag or digest the tag is `latest`
 * (unless `defaultTag` is false, for callers that want "no tag given").
 */
export function parseReference(text: string, options: { defaultTag?: boolean } = {}): ImageReference {
  const input = text;
  let rest = text.trim().replace(/^docker:\/\//, '');
  if (rest === '') fail(input, 'it is empty');
  if (/^[a-z]+:\/\//i.test(rest)) fail(input, 'only the docker:// transport is supported');

  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    validateDigest(digest, input);
  }

  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > lastSlash) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    validateTag(tag, input);
  }

  let domain = DOCKER_HUB_DOMAIN;
  let repository = rest;
  const firstSlash = rest.indexOf('/');
  const first = firstSlash >= 0 ? rest.slice(0, firstSlash) : '';
  if (firstSlash >= 0 && isDomain(first)) {
    domain = first;
    repository = rest.slice(firstSlash + 1);
    validateDomain(domain, input);
  } else if (isDomain(rest) && !rest.includes('/')) {
    fail(input, `"${rest}" looks like a registry host but names no repository`);
  }
  if (domain === 'index.docker.io') domain = DOCKER_HUB_DOMAIN;
  if (domain === DOCKER_HUB_DOMAIN && !repository.includes('/')) repository = `library/${repository}`;
  validateRepository(repository, input);
  if (`${domain}/${repository}`.length > MAX_NAME_LENGTH) {
    fail(input, `the name is longer than ${MAX_NAME_LENGTH} characters`);
  }

  if (tag === undefined && digest === undefined && options.defaultTag !== false) tag = 'latest';
  const reference: ImageReference = { domain, repository };
  if (tag !== undefined) reference.tag = tag;
  if (digest !== undefined) reference.digest = digest;
  return reference;
}

/** `host/repo:tag@digest`, the canonical text of a reference. */
export function formatReference(ref: ImageReference): string {
  let text = `${ref.domain}/${ref.repository}`;
  if (ref.tag !== undefined) text += `:${ref.tag}`;
  if (ref.digest !== undefined) text += `@${ref.digest}`;
  return text;
}

/** Whether a host is on the loopback interface, which Docker reaches over plain http. */
export function isLoopbackHost(domain: string): boolean {
  const host = domain.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}
