import { X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';

/**
 * A registry's `caFile`, read once when the config is loaded: checked to be a PEM bundle of
 * certificates, and its text kept (`caCertificates`), so that nothing reads a file a registry
 * entry names while requests run. Problems name the path and what is wrong, never the content:
 * the path may name any file on the machine.
 */

/** Far more than any bundle of CA certificates; the system's whole store is about 250 KiB. */
const MAX_BUNDLE_BYTES = 1024 * 1024;
const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

export type CaBundle = { pem: string } | { problem: string };

/** What is wrong with `pem` as a bundle of CA certificates, or undefined when it is one. */
export function pemBundleProblem(pem: string): string | undefined {
  const blocks = pem.match(CERTIFICATE_BLOCK) ?? [];
  if (blocks.length === 0) return 'is not a PEM certificate bundle (no CERTIFICATE block)';
  for (const [index, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch {
      return `is not a PEM certificate bundle (certificate ${index + 1} does not parse)`;
    }
  }
  return undefined;
}

export async function readCaBundle(file: string): Promise<CaBundle> {
  let text: string;
  try {
    const info = await stat(file);
    if (!info.isFile()) return { problem: `cannot use ${file}: not a regular file` };
    if (info.size > MAX_BUNDLE_BYTES)
      return { problem: `cannot use ${file}: larger than ${MAX_BUNDLE_BYTES} bytes, not a CA bundle` };
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code;
    return { problem: `cannot read ${file}${reason ? `: ${reason}` : ''}` };
  }
  const problem = pemBundleProblem(text);
  return problem === undefined ? { pem: text } : { problem: `${file} ${problem}` };
}
