#!/usr/bin/env -S node --max-semi-space-size=1 --no-opt
import { runCli } from '#cli/program.ts';

process.exitCode = await runCli(process.argv);
