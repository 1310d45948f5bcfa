// The layering rule and the import graph, measured. Layers, lowest first:
//   protocol/ ← device/core ← device/hal ← roles (device/{audio,tuner,waker,hub}) ← tools (device/{image,monitor,tools})
//   ← device/cli
// A file may import from its own layer or any lower one, never from a higher one; and no chain of
// imports (type imports included: they tie the files together for a reader just the same) may come
// back to where it started. `node --import tsx scripts/architecture.ts` prints the cycles, the upward
// imports and the largest functions; test/unit/architecture/imports.test.ts fails on any cycle or
// upward import.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

export const ROOT = resolve(new URL('..', import.meta.url).pathname);

/** Layer of a file (path relative to the repository root), or undefined when outside the layering. */
export function layerOf(file: string): { rank: number; name: string } | undefined {
  const rules: Array<[RegExp, number, string]> = [
    [/^protocol\//, 0, 'protocol'],
    [/^device\/core\//, 1, 'core'],
    [/^device\/hal\//, 2, 'hal'],
    [/^device\/(audio|tuner|waker|hub)\//, 3, 'roles'],
    [/^device\/(image|monitor|tools)\//, 4, 'tools'],
    [/^device\/cli\//, 5, 'cli'],
  ];
  for (const [re, rank, name] of rules) if (re.test(file)) return { rank, name };
  return undefined;
}

function walk(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(walk(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Every source file under the layered trees (relative paths). */
export function sourceFiles(root = ROOT): string[] {
  return [...walk(join(root, 'protocol')), ...walk(join(root, 'device'))].map((f) => relative(root, f)).sort();
}

/** Relative module specifiers a file imports (static, re-exports, dynamic import() with a literal). */
export function importsOf(file: string, root = ROOT): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const src = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
  const out: string[] = [];
  const visit = (n: ts.Node) => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier))
      out.push(n.moduleSpecifier.text);
    else if (
      ts.isCallExpression(n) &&
      n.expression.kind === ts.SyntaxKind.ImportKeyword &&
      n.arguments[0] &&
      ts.isStringLiteral(n.arguments[0])
    )
      out.push(n.arguments[0].text);
    else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal))
      out.push(n.argument.literal.text);
    else if (ts.isModuleDeclaration(n) && ts.isStringLiteral(n.name)) out.push(n.name.text); // declare module '…' (declaration merging)
    ts.forEachChild(n, visit);
  };
  visit(src);
  return out.filter((s) => s.startsWith('.')).map((s) => relative(root, resolve(root, dirname(file), s)));
}

export function graph(root = ROOT): Map<string, string[]> {
  const files = new Set(sourceFiles(root));
  const g = new Map<string, string[]>();
  for (const f of files) g.set(f, [...new Set(importsOf(f, root).filter((t) => files.has(t)))]);
  return g;
}

/** Imports from a lower layer to a higher one: `from → to`. */
export function upwardImports(g: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const [from, tos] of g) {
    const a = layerOf(from);
    for (const to of tos) {
      const b = layerOf(to);
      if (a && b && b.rank > a.rank) out.push(`${from} (${a.name}) → ${to} (${b.name})`);
    }
  }
  return out;
}

/** Strongly connected components with more than one file (or a file importing itself): each is a cycle. */
export function cycles(g: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>(),
    low = new Map<string, number>(),
    on = new Set<string>(),
    stack: string[] = [];
  const out: string[][] = [];
  const strong = (v: string) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (g.get(v) ?? []).includes(v)) out.push(comp.sort());
    }
  };
  for (const v of g.keys()) if (!idx.has(v)) strong(v);
  return out;
}

/** The longest functions (function declarations, methods, arrows, function expressions) by lines. */
export function largestFunctions(files: string[], root = ROOT, n = 5): Array<{ file: string; name: string; lines: number }> {
  const all: Array<{ file: string; name: string; lines: number }> = [];
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    const src = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node) => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body) {
        const a = src.getLineAndCharacterOfPosition(node.getStart(src)).line;
        const b = src.getLineAndCharacterOfPosition(node.getEnd()).line;
        const name =
          (node as ts.FunctionDeclaration).name?.getText(src) ??
          (ts.isVariableDeclaration(node.parent)
            ? node.parent.name.getText(src)
            : ts.isPropertyAssignment(node.parent)
              ? node.parent.name.getText(src)
              : '(anonymous)');
        all.push({ file, name, lines: b - a + 1 });
      }
      ts.forEachChild(node, visit);
    };
    visit(src);
  }
  return all.sort((x, y) => y.lines - x.lines).slice(0, n);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.on('error', () => {}); // | head closes the pipe early
  const g = graph();
  const cyc = cycles(g);
  const up = upwardImports(g);
  console.log(`files: ${g.size}`);
  console.log(`import cycles: ${cyc.length}`);
  for (const c of cyc) console.log(`  ${c.join(' ⇄ ')}`);
  console.log(`upward imports: ${up.length}`);
  for (const u of up) console.log(`  ${u}`);
  console.log('largest functions (lines), device/ and protocol/:');
  for (const f of largestFunctions([...g.keys()])) console.log(`  ${f.lines}  ${f.file} ${f.name}`);
}
