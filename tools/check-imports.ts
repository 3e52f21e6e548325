/**
 * No import circle (part of `npm run lint`): reads the relative imports of every source file
 * under src/ and tools/ (type-only ones too: a circle of types is a circle of understanding)
 * and fails, naming the files, when any of them import each other in a loop. The direction
 * rules between the folders are ESLint's (eslint.config.js, no-restricted-imports); this check
 * is the part a per-file rule cannot see.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOTS = ['src', 'tools'];
const SKIP = /(^|\/)(node_modules|generated)(\/|$)/;
const IMPORT =
  /(?:^|[^.\w])(?:import|export)\s[^'";]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (SKIP.test(path)) return [];
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.ts$/.test(name) && !/\.d\.ts$/.test(name) ? [path] : [];
  });
}

function target(from: string, spec: string): string | undefined {
  const base = resolve(dirname(from), spec);
  for (const candidate of [base.replace(/\.js$/, '.ts'), base, `${base}.ts`, join(base, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return relative(process.cwd(), candidate);
  }
  return undefined;
}

export function importGraph(roots: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of roots.flatMap(sourceFiles)) {
    const text = readFileSync(file, 'utf8');
    const edges = new Set<string>();
    for (const match of text.matchAll(IMPORT)) {
      const to = target(file, (match[1] ?? match[2])!);
      if (to && to !== file) edges.add(to);
    }
    graph.set(file, [...edges]);
  }
  return graph;
}

/** Tarjan's strongly connected components of more than one file: the circles. */
export function circles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const graph = importGraph(ROOTS);
  const found = circles(graph);
  for (const circle of found) {
    console.error(`import circle: ${circle.join(' ↔ ')}`);
    for (const file of circle) {
      const inCircle = graph.get(file)!.filter((to) => circle.includes(to));
      console.error(`  ${file} → ${inCircle.join(', ')}`);
    }
  }
  if (found.length > 0) process.exit(1);
  console.log(`no import circle (${graph.size} files)`);
}
