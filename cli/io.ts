/**
 * Where a command writes and what environment it reads: the process's own, or a test's. Apart
 * from context.ts so that the program (and `crossdock help`) loads no registry client.
 */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

export function defaultIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}
