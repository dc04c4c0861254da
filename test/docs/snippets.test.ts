/**
 * Every TypeScript code block of the README, and any in the API docs' comments, type-checks under `strict`
 * against the package's own sources, so the docs cannot drift from the API.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Snippet {
  /** Where it comes from, for messages: `README.md:42`. */
  origin: string;
  code: string;
}

/** ```ts fences of a Markdown text; `indent` strips a comment's ` * ` prefix first. */
function fences(text: string, file: string, comment = false): Snippet[] {
  const lines = text.split('\n').map((line) => (comment ? line.replace(/^\s*\* ?/, '') : line));
  const found: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i]!)) continue;
    const start = i + 1;
    while (i + 1 < lines.length && !/^```\s*$/.test(lines[i + 1]!)) i++;
    found.push({ origin: `${file}:${start + 1}`, code: lines.slice(start, i + 1).join('\n') });
    i++;
  }
  return found;
}

/**
 * What the recipes take as given, as a reader does: the client and table from the first recipe, the usual imports,
 * and the user's own data sources. Each is added to a block only if the block uses the name without defining it.
 */
const CONTEXT: Array<{ name: string; declaration: string }> = [
  { name: 'pipeline', declaration: "import { pipeline } from 'node:stream/promises';" },
  { name: 'createReadStream', declaration: "import { createReadStream } from 'node:fs';" },
  { name: 'createGzip', declaration: "import { createGzip } from 'node:zlib';" },
  { name: 'Readable', declaration: "import { Readable } from 'node:stream';" },
  { name: 'RedivisClient', declaration: "import { RedivisClient } from 'redivis-upload';" },
  { name: 'RedivisUploadError', declaration: "import { RedivisUploadError } from 'redivis-upload';" },
  { name: 'createTempUploadStream', declaration: "import { createTempUploadStream } from 'redivis-upload';" },
  { name: 'queryStatus', declaration: "import { queryStatus } from 'redivis-upload';" },
  { name: 'uploadToTable', declaration: "import { uploadToTable } from 'redivis-upload';" },
  { name: 'startEmulator', declaration: "import { startEmulator } from 'redivis-upload/emulator';" },
  { name: 'client', declaration: "declare const client: import('redivis-upload').RedivisClient;" },
  { name: 'table', declaration: 'declare const table: string;' },
  { name: 'source', declaration: "declare const source: import('node:stream').Readable;" },
  { name: 'savedSessionUrl', declaration: 'declare const savedSessionUrl: string;' },
  { name: 'savedTempUploadId', declaration: 'declare const savedTempUploadId: string | undefined;' },
  { name: 'saveState', declaration: 'declare function saveState(state: { sessionUrl: string; tempUploadId: string | undefined }): void;' },
  { name: 'rowsFromSomewhere', declaration: 'declare function rowsFromSomewhere(): AsyncIterable<{ id: number; value: number }>;' },
  { name: 'clicksFromSomewhere', declaration: 'declare function clicksFromSomewhere(): AsyncIterable<{ id: number; page: string; at: string }>;' },
  { name: 'database', declaration: 'declare const database: { cursor(sql: string): AsyncIterable<Array<{ id: number; score: number }>> };' },
];

/** Names a block defines at its top level: imports, variables, functions, classes. */
function definedNames(code: string): Set<string> {
  const source = ts.createSourceFile('block.mts', code, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const names = new Set<string>();
  const addBinding = (name: ts.BindingName): void => {
    if (ts.isIdentifier(name)) names.add(name.text);
    else for (const element of name.elements) if (!ts.isOmittedExpression(element)) addBinding(element.name);
  };
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement) && statement.importClause) {
      const { name, namedBindings } = statement.importClause;
      if (name) names.add(name.text);
      if (namedBindings && ts.isNamedImports(namedBindings)) for (const element of namedBindings.elements) names.add(element.name.text);
      if (namedBindings && ts.isNamespaceImport(namedBindings)) names.add(namedBindings.name.text);
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) addBinding(declaration.name);
    } else if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name) {
      names.add(statement.name.text);
    }
  }
  return names;
}

function withContext(code: string): { text: string; preludeLines: number } {
  const defined = definedNames(code);
  const prelude = CONTEXT.filter(({ name }) => !defined.has(name) && new RegExp(`\\b${name}\\b`).test(code)).map(({ declaration }) => declaration);
  return { text: `${[...prelude, code].join('\n')}\nexport {};\n`, preludeLines: prelude.length };
}

async function apiDocSnippets(): Promise<Snippet[]> {
  const found: Snippet[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith('.ts')) found.push(...fences(await readFile(path, 'utf8'), path.slice(ROOT.length), true));
    }
  };
  await walk(join(ROOT, 'src'));
  return found;
}

test('every TypeScript block of the README and of the API docs type-checks under strict', async (t) => {
  const readme = fences(await readFile(join(ROOT, 'README.md'), 'utf8'), 'README.md');
  // A block that must fail, so a checker that checks nothing cannot pass.
  const sentinel: Snippet = { origin: 'sentinel:1', code: "const upload = createTempUploadStream({ client, url: 'https://x', chunkSize: '8' });" };
  // The upload stream's events are typed: a misspelt name and a wrong payload are compile errors too.
  const misspelt: Snippet = { origin: 'misspelt:1', code: "createTempUploadStream({ client, url: 'https://x' }).on('progres', () => {});" };
  const payload: Snippet = { origin: 'payload:1', code: "createTempUploadStream({ client, url: 'https://x' }).on('progress', (p: string) => p.length);" };
  const snippets = [...readme, ...(await apiDocSnippets()), sentinel, misspelt, payload];
  assert.ok(readme.length >= 6, `found ${readme.length} TypeScript blocks in the README`);
  const dir = await mkdtemp(join(tmpdir(), 'redivis-upload-snippets-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const files = new Map<string, { snippet: Snippet; preludeLines: number }>();
  for (const [i, snippet] of snippets.entries()) {
    const file = join(dir, `snippet-${i}.mts`);
    const { text, preludeLines } = withContext(snippet.code);
    await writeFile(file, text);
    files.set(file, { snippet, preludeLines });
  }
  const program = ts.createProgram([...files.keys()], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2023.d.ts'],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: ['node'],
    typeRoots: [join(ROOT, 'node_modules', '@types')],
    skipLibCheck: true,
    paths: {
      'redivis-upload': [join(ROOT, 'src', 'index.ts')],
      'redivis-upload/emulator': [join(ROOT, 'src', 'emulator', 'index.ts')],
    },
  });
  const problems = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const entry = diagnostic.file ? files.get(diagnostic.file.fileName) : undefined;
    if (!diagnostic.file || !entry || diagnostic.start === undefined) return `${diagnostic.file?.fileName ?? '(global)'}: ${message}`;
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    const [file, first] = entry.snippet.origin.split(':') as [string, string];
    return `${file}:${Number(first) + line - entry.preludeLines}: ${message}`;
  });
  const expected = (origin: string) => problems.filter((line) => line.startsWith(`${origin}:`));
  assert.match(expected('sentinel')[0] ?? '', /^sentinel:1: .*'string' is not assignable to type 'number'/);
  assert.match(expected('misspelt')[0] ?? '', /^misspelt:1: .*"progres"/);
  assert.match(expected('payload')[0] ?? '', /^payload:1: .*UploadProgress/);
  assert.deepEqual(problems.filter((line) => !/^(sentinel|misspelt|payload):/.test(line)), []);
});
