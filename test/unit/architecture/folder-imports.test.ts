/**
 * Each folder of src/ has one meaning, so no two folders may depend on each other, directly or
 * around a longer loop (README, architecture). Computed from the imports themselves, type-only
 * and dynamic ones included, at folder granularity.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileEdges, folderCycles, folderGraph, readSources, twoWayPairs, type SourceFile } from '../../../scripts/import-graph.js';

const SRC = path.resolve(import.meta.dirname, '../../../src');

describe('the folder import graph of src/', () => {
  const graph = folderGraph(readSources(SRC));

  it('has no cycle between folders', () => {
    expect(folderCycles(graph)).toEqual([]);
    expect(twoWayPairs(graph)).toEqual([]);
  });

  it('keeps the layers the README names: errors and util at the bottom, cli at the top', () => {
    expect([...(graph.get('errors') ?? [])]).toEqual([]);
    expect([...(graph.get('util') ?? [])].filter((f) => f !== 'errors')).toEqual([]);
    for (const [folder, targets] of graph) if (folder !== 'cli') expect(targets.has('cli'), folder).toBe(false);
    // image references and the registry client serve lock/, drift/ and sync/; they need none of them.
    for (const upper of ['lock', 'drift', 'sync', 'compose']) expect(graph.get('image')?.has(upper), upper).toBe(false);
  });
});

describe('the cycle detector', () => {
  const file = (p: string, ...imports: string[]): SourceFile => ({ path: p, text: imports.join('\n') });

  it('sees every kind of import: named, type-only, side effect, re-export and dynamic', () => {
    const files = [
      file('a/x.ts', "import { b } from '../b/y.js';"),
      file('a/z.ts', "import type { C } from '../c/y.js';", "import '../d/y.js';", "export * from '../e/y.js';", "const f = await import('../f/y.js');"),
      file('a/w.ts', "import { readFile } from 'node:fs';", "import { sibling } from './x.js';"),
    ];
    expect(fileEdges(files).map(([, to]) => to)).toEqual(['b/y.ts', 'c/y.ts', 'd/y.ts', 'e/y.ts', 'f/y.ts', 'a/x.ts']);
    expect([...(folderGraph(files).get('a') ?? [])].sort()).toEqual(['b', 'c', 'd', 'e', 'f']);
  });

  it('finds a two-way pair, a three-folder loop, and nothing in a layered graph', () => {
    const twoWay = folderGraph([file('a/x.ts', "import '../b/y.js';"), file('b/y.ts', "import type { X } from '../a/x.js';")]);
    expect(folderCycles(twoWay)).toEqual([['a', 'b']]);
    expect(twoWayPairs(twoWay)).toEqual([['a', 'b']]);

    const loop = folderGraph([file('a/x.ts', "import '../b/y.js';"), file('b/y.ts', "import '../c/z.js';"), file('c/z.ts', "import '../a/x.js';")]);
    expect(folderCycles(loop)).toEqual([['a', 'b', 'c']]);
    expect(twoWayPairs(loop)).toEqual([]);

    const layered = folderGraph([file('a/x.ts', "import '../b/y.js';", "import '../c/z.js';"), file('b/y.ts', "import '../c/z.js';"), file('c/z.ts', "import './w.js';")]);
    expect(folderCycles(layered)).toEqual([]);
  });

  it('counts a file at the top of src/ as its own folder and files in subfolders as their top folder', () => {
    const graph = folderGraph([file('version.ts'), file('cli/handlers/x.ts', "import '../../version.js';", "import '../main.js';"), file('cli/main.ts')]);
    expect([...(graph.get('cli') ?? [])]).toEqual(['.']);
  });
});
