/**
 * `redivis-upload emulator` (the local emulator in the foreground) and `redivis-upload demo`.
 * @module
 */
import { parseFaultSpec, startEmulator } from '../emulator/index.js';
import { choiceOption, integerOption, numberOption, parse, stringValue, UsageError } from './args.js';
import { checkTable } from './target.js';
import type { CommandContext } from './context.js';
import { runDemo } from './demo.js';
import { handleInterrupts, SIGNAL_EXIT_CODES } from './interrupt.js';
import { DEMO_HELP, EMULATOR_HELP } from './help.js';

export async function demoCommand(args: string[], ctx: CommandContext): Promise<number> {
  const { values } = parse('demo', args, { 'csv-bytes': { type: 'string' } }, { positionals: false });
  if (values.help) {
    ctx.io.stdout.write(DEMO_HELP);
    return 0;
  }
  const csvBytes = integerOption('csv-bytes', stringValue(values, 'csv-bytes'), 0);
  // Ctrl+C stops the upload, so the demo's bar is removed and the terminal left as it was.
  const interrupt = handleInterrupts(() => {});
  try {
    const summary = await runDemo({ out: ctx.io.stdout, signal: interrupt.signal, ...(csvBytes === undefined ? {} : { csvBytes }) });
    return summary.ok ? 0 : 1;
  } catch (error) {
    const received = interrupt.received();
    if (received === undefined) throw error;
    ctx.output.err(`redivis-upload: the demo was cancelled by ${received === 'SIGINT' ? 'Ctrl+C (SIGINT)' : received}`);
    return SIGNAL_EXIT_CODES[received];
  } finally {
    interrupt.dispose();
  }
}

export async function emulatorCommand(args: string[], ctx: CommandContext): Promise<number> {
  const { values } = parse('emulator', args, {
    port: { type: 'string' },
    faults: { type: 'string' },
    'fault-rate': { type: 'string' },
    seed: { type: 'string' },
    token: { type: 'string' },
    'read-only-token': { type: 'string' },
    table: { type: 'string', multiple: true },
    'file-index-table': { type: 'string', multiple: true },
    'fail-upload': { type: 'string', multiple: true },
    'delete-response': { type: 'string' },
    verbose: { type: 'boolean' },
  }, { positionals: false });
  if (values.help) {
    ctx.io.stdout.write(EMULATOR_HELP);
    return 0;
  }
  const port = integerOption('port', stringValue(values, 'port'), 0, 65535);
  const seed = integerOption('seed', stringValue(values, 'seed'), 0, 2 ** 32 - 1);
  const rate = numberOption('fault-rate', stringValue(values, 'fault-rate'), 0, 1);
  let faults;
  try {
    faults = values.faults === undefined ? undefined : parseFaultSpec(stringValue(values, 'faults')!);
  } catch (error) {
    throw new UsageError(`invalid --faults: ${(error as Error).message}`);
  }
  const token = stringValue(values, 'token');
  const readOnlyToken = stringValue(values, 'read-only-token');
  if (readOnlyToken !== undefined && readOnlyToken === token) throw new UsageError('invalid --read-only-token: expected a token other than --token');
  const strings = (name: string) => (Array.isArray(values[name]) ? (values[name] as unknown[]) : []).filter((value): value is string => typeof value === 'string');
  const tables = [...strings('table').map((reference) => checkTable(reference)), ...strings('file-index-table').map((reference) => ({ reference: checkTable(reference), isFileIndex: true }))];
  const failUploads: Record<string, string> = {};
  for (const spec of strings('fail-upload')) {
    const equals = spec.indexOf('=');
    if (equals <= 0 || equals === spec.length - 1) {
      throw new UsageError(`invalid --fail-upload: expected NAME=MESSAGE, e.g. visits.csv="Expected 4 columns, found 5", received ${JSON.stringify(spec)}`);
    }
    failUploads[spec.slice(0, equals)] = spec.slice(equals + 1);
  }
  const deleteResponse = choiceOption('delete-response', stringValue(values, 'delete-response'), ['json', 'ok'] as const);
  const emulator = await startEmulator({
    ...(port === undefined ? {} : { port }),
    ...(token === undefined ? {} : { token }),
    ...(readOnlyToken === undefined ? {} : { readOnlyToken }),
    ...(tables.length === 0 ? {} : { tables }),
    ...(Object.keys(failUploads).length === 0 ? {} : { failUploads }),
    ...(deleteResponse === undefined ? {} : { deleteResponse }),
    ...(faults === undefined ? {} : { faults }),
    ...(rate === undefined ? {} : { randomFaults: { probability: rate, ...(seed === undefined ? {} : { seed }) } }),
    verbose: values.verbose === true,
  });
  // This token is the emulator's own, accepted nowhere else: printing it is the point of the command.
  const out = (line: string) => ctx.io.stdout.write(`${line}\n`);
  out(`Redivis emulator listening.`);
  out(`  REDIVIS_API_ENDPOINT=${emulator.apiEndpoint}`);
  out(`  REDIVIS_API_TOKEN=${emulator.token}`);
  out(`  read-only token (every write answers 403): ${emulator.readOnlyToken}`);
  if (tables.length > 0) out(`  tables (every other one answers 404): ${tables.map((table) => (typeof table === 'string' ? table : `${table.reference} (file index)`)).join(', ')}`);
  for (const [name, message] of Object.entries(failUploads)) out(`  uploads named ${JSON.stringify(name)} fail to import: ${message}`);
  if (emulator.randomSeed !== undefined) out(`  random faults: rate ${rate}, seed ${emulator.randomSeed} (pass --seed ${emulator.randomSeed} to replay)`);
  out('');
  out('Try it:');
  out(`  export REDIVIS_API_ENDPOINT=${emulator.apiEndpoint} REDIVIS_API_TOKEN=${emulator.token}`);
  out(`  printf 'a,b\\n1,2\\n3,4\\n' | npx redivis-upload upload - --table demo.dataset:next.table --name hello.csv`);
  out(`  curl -s -X POST -H "Authorization: Bearer ${emulator.token}" -H 'Content-Type: application/json' \\`);
  out(`    -d '{"tempUploads":[{"name":"hello.csv","size":12}]}' ${emulator.apiEndpoint}/tables/demo.dataset:next.table/tempUploads`);
  out(`  printf 'a,b\\n1,2\\n3,4\\n' | curl -s -X PUT --data-binary @- "<url from the answer>"`);
  out('Press Ctrl+C to stop.');
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await emulator.close();
  return 0;
}
