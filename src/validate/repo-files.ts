/**
 * The files of the desired-state repo as validate sees them: every regular file under a folder,
 * with each symlink that leaves the folder (or dangles) and each file over the size limit
 * reported — all of them, where the loader stops at the first.
 */
import { lstatSync, readdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { finding } from './finding.js';
import type { ValidateFinding } from './model.js';
import { describeError, errnoCode } from '../errors/index.js';

export interface RepoFile {
  /** Repo-relative, forward slashes. */
  rel: string;
  abs: string;
}

export interface FolderScan {
  /** Regular files within the size limit (symlinks are not followed: their targets inside are listed themselves). */
  files: RepoFile[];
  findings: ValidateFinding[];
}

function isInside(parent: string, child: string): boolean {
  return child === parent || child.startsWith(parent + path.sep);
}

/** Walks the folder `<root>/<prefix>`; symlinks must resolve inside it. A missing folder has no files. */
export function scanFolder(root: string, prefix: string, maxBytes: number): FolderScan {
  const top = path.join(root, prefix);
  const out: FolderScan = { files: [], findings: [] };
  let realTop: string;
  try {
    if (!lstatSync(top).isDirectory()) return out; // a symlinked folder is the loader's finding, not walked
    realTop = realpathSync(top);
  } catch {
    return out;
  }
  const walk = (dirAbs: string, dirRel: string): void => {
    let entries;
    try {
      entries = readdirSync(dirAbs, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    } catch (e) {
      out.findings.push(finding('compose-error', 'error', dirRel, undefined, `cannot be read (${errnoCode(e) ?? describeError(e)}); check its permissions`));
      return;
    }
    for (const ent of entries) {
      const abs = path.join(dirAbs, ent.name);
      const rel = `${dirRel}/${ent.name}`;
      if (ent.isDirectory()) walk(abs, rel);
      else if (ent.isFile()) {
        const size = lstatSync(abs).size;
        if (size > maxBytes) {
          out.findings.push(
            finding('file-too-large', 'error', rel, undefined, `${size} bytes, over the ${maxBytes}-byte limit; keep large files out of the desired-state repo or raise validate.maxFileBytes`),
          );
        } else out.files.push({ rel, abs });
      } else if (ent.isSymbolicLink()) {
        let target: string | undefined;
        try {
          target = realpathSync(abs);
        } catch {
          out.findings.push(finding('unsafe-path', 'error', rel, undefined, `a symlink to a missing path; remove it or point it at a file inside ${prefix}/`));
          continue;
        }
        if (!isInside(realTop, target)) {
          out.findings.push(finding('unsafe-path', 'error', rel, undefined, `a symlink that leaves ${prefix}/; driftd refuses it — copy the file into the folder instead`));
        }
      }
    }
  };
  walk(top, prefix);
  return out;
}

/** Folders (and symlinks, which the loader refuses) directly under stacks/, sorted; undefined when there is no stacks/. */
export function stackFolders(root: string): string[] | undefined {
  try {
    return readdirSync(path.join(root, 'stacks'), { withFileTypes: true })
      .filter((e) => e.isDirectory() || e.isSymbolicLink())
      .map((e) => e.name)
      .sort();
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return undefined;
    throw e;
  }
}
