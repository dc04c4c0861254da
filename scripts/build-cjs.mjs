/**
 * The CommonJS build of the library (`require('redivis-upload')`), from the same sources as the ESM build, into
 * dist/cjs. Plain `tsc` cannot do it: the sources read their own location with `import.meta.url`, which CommonJS
 * output has no equivalent for, so this build rewrites it to `pathToFileURL(__filename).href` while compiling.
 */
import { writeFileSync } from 'node:fs';
import ts from 'typescript';

const IMPORT_META_IN_COMMONJS = 1343;

const config = ts.getParsedCommandLineOfConfigFile('tsconfig.cjs.json', {}, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (diagnostic) => fail([diagnostic]),
});
if (config === undefined) process.exit(1);
const program = ts.createProgram(config.fileNames, config.options);

/** `import.meta.url` as CommonJS writes it; any other use of `import.meta` fails the build. */
const rewriteImportMeta = (context) => (sourceFile) => {
  const { factory } = context;
  const visit = (node) => {
    if (ts.isMetaProperty(node) && node.keywordToken === ts.SyntaxKind.ImportKeyword) {
      const parent = node.parent;
      if (!parent || !ts.isPropertyAccessExpression(parent) || parent.name.text !== 'url') {
        throw new Error(`${sourceFile.fileName}: only import.meta.url has a CommonJS equivalent in this build`);
      }
    }
    if (ts.isPropertyAccessExpression(node) && ts.isMetaProperty(node.expression) && node.name.text === 'url') {
      const pathToFileURL = factory.createPropertyAccessExpression(
        factory.createCallExpression(factory.createIdentifier('require'), undefined, [factory.createStringLiteral('node:url')]),
        'pathToFileURL',
      );
      return factory.createPropertyAccessExpression(
        factory.createCallExpression(pathToFileURL, undefined, [factory.createIdentifier('__filename')]),
        'href',
      );
    }
    return ts.visitEachChild(node, visit, context);
  };
  return ts.visitNode(sourceFile, visit);
};

const diagnostics = ts.getPreEmitDiagnostics(program).filter((diagnostic) => diagnostic.code !== IMPORT_META_IN_COMMONJS);
if (diagnostics.length > 0) fail(diagnostics);
const emitted = program.emit(undefined, undefined, undefined, false, { before: [rewriteImportMeta] });
if (emitted.diagnostics.length > 0) fail(emitted.diagnostics);
// The package is "type": "module"; this folder holds CommonJS.
writeFileSync(new URL('../dist/cjs/package.json', import.meta.url), '{ "type": "commonjs" }\n');

function fail(list) {
  process.stderr.write(
    ts.formatDiagnosticsWithColorAndContext(list, {
      getCanonicalFileName: (name) => name,
      getCurrentDirectory: ts.sys.getCurrentDirectory,
      getNewLine: () => '\n',
    }),
  );
  process.exit(1);
}
