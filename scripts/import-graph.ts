// The folder-level import graph of src/: which top-level folder imports which. A folder is one
// meaning (README, architecture); two folders that import each other, directly or around a longer
// loop, no longer have one. test/unit/architecture/folder-cycles.test.ts fails on any cycle;
// `node --import tsx scripts/import-graph.ts` prints the graph and the size figures.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** Every `from '…'`, side-effect `import '…'` and dynamic `import('…')`, type-only ones included. */
const IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;

export interface SourceFile {
  path: string; // relative to the src folder, '/'-separated
  text: string;
}

export function readSources(srcDir: string): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) {
        out.push({ path: relative(srcDir, full).split(sep).join('/'), text: readFileSync(full, 'utf8') });
      }
    }
  };
  walk(srcDir);
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/** The folder a src-relative file belongs to: its first path segment (`version.ts` is `.`). */
export function folderOf(path: string): string {
  const slash = path.indexOf('/');
  return slash === -1 ? '.' : path.slice(0, slash);
}

/** File-level edges (src-relative paths), relative imports only. */
export function fileEdges(files: readonly SourceFile[]): Array<[string, string]> {
  const edges: Array<[string, string]> = [];
  for (const file of files) {
    for (const match of file.text.matchAll(IMPORT)) {
      const spec = match[1] ?? '';
      if (!spec.startsWith('.')) continue;
      const target = resolve('/', dirname(file.path), spec).slice(1).replace(/\.js$/, '.ts');
      edges.push([file.path, target]);
    }
  }
  return edges;
}

/** folder → the folders it imports (itself excluded). */
export function folderGraph(files: readonly SourceFile[]): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of files) graph.set(folderOf(file.path), graph.get(folderOf(file.path)) ?? new Set());
  for (const [from, to] of fileEdges(files)) {
    const a = folderOf(from);
    const b = folderOf(to);
    if (a !== b) graph.get(a)?.add(b);
  }
  return graph;
}

/** The strongly connected components with more than one folder: each is a cycle (Tarjan). */
export function folderCycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let index = 0;
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    order.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!order.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) ?? 0, order.get(w) ?? 0));
      }
    }
    if (low.get(v) === order.get(v)) {
      const component: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop();
        if (w === undefined) break;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) out.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!order.has(v)) visit(v);
  return out;
}

/** Pairs of folders that import each other directly. */
export function twoWayPairs(graph: ReadonlyMap<string, ReadonlySet<string>>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [a, targets] of graph) {
    for (const b of targets) if (a < b && graph.get(b)?.has(a)) out.push([a, b]);
  }
  return out.sort();
}

/** Lines per file and per function (every function, method and arrow function, by the compiler's parse). */
export function sizes(files: readonly SourceFile[]): { files: number; lines: number; over300: string[]; functions: number; functionsOver60: string[]; largestFunction: string } {
  let lines = 0;
  let functions = 0;
  const over300: string[] = [];
  const functionsOver60: string[] = [];
  let largest = { name: '', lines: 0 };
  for (const file of files) {
    const count = file.text.split('\n').length;
    lines += count;
    if (count > 300) over300.push(`${file.path} (${count})`);
    const source = ts.createSourceFile(file.path, file.text, ts.ScriptTarget.ES2022, true);
    const visit = (node: ts.Node): void => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body) {
        functions++;
        const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
        const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
        const length = last - first + 1;
        const nameNode = 'name' in node ? node.name : undefined;
        const owner = ts.isVariableDeclaration(node.parent) ? node.parent.name.getText(source) : undefined;
        const name = `${file.path}:${nameNode ? nameNode.getText(source) : (owner ?? `line ${first + 1}`)}`;
        if (length > 60) functionsOver60.push(`${name} (${length})`);
        if (length > largest.lines) largest = { name, lines: length };
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return { files: files.length, lines, over300, functions, functionsOver60, largestFunction: `${largest.name} (${largest.lines})` };
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.dirname, 'import-graph.ts')) {
  const files = readSources(resolve(import.meta.dirname, '..', 'src'));
  const graph = folderGraph(files);
  for (const [folder, targets] of [...graph].sort(([a], [b]) => a.localeCompare(b))) {
    process.stdout.write(`${folder} -> ${[...targets].sort().join(', ')}\n`);
  }
  const edges = [...graph.values()].reduce((n, s) => n + s.size, 0);
  process.stdout.write(`folders ${graph.size}, folder edges ${edges}\n`);
  process.stdout.write(`two-way pairs: ${twoWayPairs(graph).map(([a, b]) => `${a}<->${b}`).join(' ') || 'none'}\n`);
  process.stdout.write(`cycles: ${folderCycles(graph).map((c) => c.join(',')).join(' | ') || 'none'}\n`);
  const s = sizes(files);
  process.stdout.write(`files ${s.files}, lines ${s.lines}, functions ${s.functions}, largest ${s.largestFunction}\n`);
  process.stdout.write(`files over 300 lines (${s.over300.length}): ${s.over300.join(', ')}\n`);
  process.stdout.write(`functions over 60 lines (${s.functionsOver60.length}): ${s.functionsOver60.join(', ')}\n`);
}
