/** revision-behind: the stack's input files that differ between the deployed and the target revision. */
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';
import type { DesiredStack } from '../compose/model.js';
import { redactFileContent } from '../util/scrub.js';
import { classifyFile } from './file-secrecy.js';
import type { StackSecrets } from './stack-secrets.js';
import { shortCommit } from '../util/text.js';

export interface FileChange {
  /** Repo-relative path. */
  path: string;
  /** undefined: the file does not exist at the deployed revision (added). */
  oldContent?: string;
  /** undefined: the file does not exist at the target revision (deleted). */
  newContent?: string;
}

/** One unified diff per changed file (in path order), secrets redacted before diffing. */
export function revisionDiff(
  changes: readonly FileChange[],
  stack: DesiredStack | undefined,
  secrets: StackSecrets,
  revisions: { deployed: string; target: string },
): string {
  const patches: string[] = [];
  for (const change of [...changes].sort((a, b) => a.path.localeCompare(b.path))) {
    if (change.oldContent === change.newContent) continue;
    const binary = [change.oldContent, change.newContent].some((c) => c?.includes('\u0000') === true);
    if (binary) {
      patches.push(`Binary file ${change.path} differs\n`);
      continue;
    }
    const secrecy = classifyFile(change.path, stack);
    const redact = (content: string | undefined): string => (content === undefined ? '' : redactFileContent(content, secrecy, (k) => secrets.isSecretEnv(k), secrets.scrubber));
    patches.push(
      createTwoFilesPatch(
        change.oldContent === undefined ? '/dev/null' : `a/${change.path}`,
        change.newContent === undefined ? '/dev/null' : `b/${change.path}`,
        redact(change.oldContent),
        redact(change.newContent),
        shortCommit(revisions.deployed),
        shortCommit(revisions.target),
        { headerOptions: FILE_HEADERS_ONLY },
      ),
    );
  }
  return patches.join('');
}
