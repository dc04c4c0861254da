/**
 * Command dispatch for `redivis-upload`. Kept apart from `main.ts` so tests can run commands in-process.
 * Exit codes: 0 success, 1 failure, 2 usage error.
 * @module
 */
import { parseArgs } from 'node:util';
import { RedivisUploadError } from '../errors.js';
import { packageVersion } from '../client/user-agent.js';
import { parseFaultSpec, startEmulator } from '../emulator/index.js';
import { runDemo } from './demo.js';

export interface CliIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Error {}

const MAIN_HELP = `Usage: redivis-upload <command> [options]

Commands:
  demo                    Upload a generated, gzipped CSV into an embedded emulator, with faults
  emulator                Run the local Redivis emulator in the foreground

Options:
  -h, --help              Show help (also: redivis-upload <command> --help)
  -v, --version           Show the version

The API token is read from REDIVIS_API_TOKEN and the endpoint from REDIVIS_API_ENDPOINT.
`;

const EMULATOR_HELP = `Usage: redivis-upload emulator [options]

Runs the local Redivis API and resumable-upload emulator until interrupted.

Options:
  --port N                Port to listen on (default: a free one)
  --faults SPEC           Scripted faults, e.g. "503@chunk#2,reset:1048576@chunk#3,stall:2000@status"
  --fault-rate P          Probability (0-1) of a random fault on each upload request
  --seed N                Seed for random faults (printed when not given)
  --token TOKEN           Token to accept (default: a random one, printed)
  --verbose               Log every request to stderr
  -h, --help              Show this help
`;

const DEMO_HELP = `Usage: redivis-upload demo [--csv-bytes N]

Starts an embedded emulator with injected faults, generates a CSV on the fly, gzips it and streams it through
createTempUploadStream, then checks the stored bytes' MD5 against what was sent.
`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    return await dispatch(argv.filter((a) => a !== '--debug'), io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`redivis-upload: ${error.message}\nTry 'redivis-upload --help'.\n`);
      return 2;
    }
    io.stderr.write(`redivis-upload: ${describeError(error)}\n`);
    if (debug && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    return 1;
  }
}

/** One line: the message, its code, and the chain of causes. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 4; depth += 1) {
    if (current instanceof Error) {
      const code = current instanceof RedivisUploadError ? ` [${current.code}]` : '';
      parts.push(`${current.message}${code}`);
      current = current.cause;
    } else {
      parts.push(String(current));
      current = undefined;
    }
  }
  return parts.join(': caused by ');
}

async function dispatch(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      io.stdout.write(MAIN_HELP);
      return command === undefined ? 2 : 0;
    case '-v':
    case '--version':
      io.stdout.write(`${packageVersion()}\n`);
      return 0;
    case 'emulator':
      return runEmulatorCommand(rest, io);
    case 'demo':
      return runDemoCommand(rest, io);
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;
type ParsedValues = Record<string, string | boolean | Array<string | boolean> | undefined>;

export function parse(args: string[], options: OptionSpec): { values: ParsedValues; positionals: string[] } {
  try {
    const parsed = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' }, ...options }, allowPositionals: true, strict: true });
    return { values: parsed.values as ParsedValues, positionals: parsed.positionals };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function integerOption(name: string, value: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed < min || parsed > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return parsed;
}

async function runDemoCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, { 'csv-bytes': { type: 'string' } });
  if (values.help) {
    io.stdout.write(DEMO_HELP);
    return 0;
  }
  const csvBytes = integerOption('csv-bytes', values['csv-bytes'] as string | undefined, 0);
  const summary = await runDemo({ out: io.stdout, ...(csvBytes === undefined ? {} : { csvBytes }) });
  return summary.ok ? 0 : 1;
}

async function runEmulatorCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, {
    port: { type: 'string' },
    faults: { type: 'string' },
    'fault-rate': { type: 'string' },
    seed: { type: 'string' },
    token: { type: 'string' },
    verbose: { type: 'boolean' },
  });
  if (values.help) {
    io.stdout.write(EMULATOR_HELP);
    return 0;
  }
  const port = integerOption('port', values.port as string | undefined, 0, 65535);
  const seed = integerOption('seed', values.seed as string | undefined, 0, 2 ** 32 - 1);
  const rateText = values['fault-rate'] as string | undefined;
  const rate = rateText === undefined ? undefined : Number(rateText);
  if (rate !== undefined && !(rate >= 0 && rate <= 1)) throw new UsageError(`--fault-rate must be a number from 0 to 1, got ${JSON.stringify(rateText)}`);
  let faults;
  try {
    faults = values.faults === undefined ? undefined : parseFaultSpec(values.faults as string);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const emulator = await startEmulator({
    ...(port === undefined ? {} : { port }),
    ...(values.token === undefined ? {} : { token: values.token as string }),
    ...(faults === undefined ? {} : { faults }),
    ...(rate === undefined ? {} : { randomFaults: { probability: rate, ...(seed === undefined ? {} : { seed }) } }),
    verbose: values.verbose === true,
  });
  const out = (line: string) => io.stdout.write(`${line}\n`);
  out(`Redivis emulator listening.`);
  out(`  REDIVIS_API_ENDPOINT=${emulator.apiEndpoint}`);
  out(`  REDIVIS_API_TOKEN=${emulator.token}`);
  if (emulator.randomSeed !== undefined) out(`  random faults: rate ${rate}, seed ${emulator.randomSeed} (pass --seed ${emulator.randomSeed} to replay)`);
  out('');
  out('Try it:');
  out(`  curl -s -X POST -H "Authorization: Bearer ${emulator.token}" -H 'Content-Type: application/json' \\`);
  out(`    -d '{"tempUploads":[{"name":"hello.csv","size":12}]}' ${emulator.apiEndpoint}/tables/demo.dataset:next.table/tempUploads`);
  out(`  printf 'a,b\\n1,2\\n3,4\\n' | curl -s -X PUT --data-binary @- "<url from the answer>"`);
  out('Press Ctrl+C to stop.');
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await emulator.close();
  return 0;
}
