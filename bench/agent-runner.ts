/** Runs agent-child.ts as plain JavaScript in its own node process and returns what it measured. */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { execFileCapture } from '../src/util/exec.js';
import type { AgentChildInput, AgentChildOutput } from './agent-child.js';

const CHILD_SOURCE = fileURLToPath(new URL('./agent-child.ts', import.meta.url));

/** Writes the child as an ES module into `dir` (it has only type imports, so a plain transpile is exact). */
export function writeAgentChild(dir: string): string {
  const { outputText } = ts.transpileModule(readFileSync(CHILD_SOURCE, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    fileName: CHILD_SOURCE,
  });
  const file = path.join(dir, 'agent-child.mjs');
  writeFileSync(file, outputText);
  return file;
}

/**
 * The V8 flags the shipped agent runs with (NODE_OPTIONS in the Dockerfile and deploy/driftd.service;
 * test/unit/deploy/node-options.test.ts keeps the three equal), so that the bench measures that process.
 */
export const AGENT_NODE_OPTIONS = ['--max-semi-space-size=2'];

export async function runAgentChild(childFile: string, input: AgentChildInput, env: NodeJS.ProcessEnv): Promise<AgentChildOutput> {
  const r = await execFileCapture(process.execPath, ['--expose-gc', ...AGENT_NODE_OPTIONS, childFile, JSON.stringify(input)], { env });
  if (r.code !== 0) throw new Error(`agent child exited with ${r.code}: ${r.stderr.slice(-3000)}`);
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as AgentChildOutput;
}
