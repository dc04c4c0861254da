/**
 * Command dispatch for `redivis-upload`. Kept apart from `main.ts` so tests can run commands in-process.
 * Exit codes: 0 success, 1 failure, 2 usage error, 130/143 interrupted by SIGINT/SIGTERM.
 * @module
 */
import { packageVersion } from '../client/user-agent.js';
import { flagsOf, suggestOption, UsageError } from './args.js';
import { reportFailure, type CliIo, type CommandContext } from './context.js';
import { MAIN_HELP } from './help.js';
import { Output } from './output.js';

export type { CliIo } from './context.js';
export { UsageError } from './args.js';
export { describeError } from './output.js';

type Command = (args: string[], ctx: CommandContext) => Promise<number>;

// Loaded on demand: `--help` and usage errors should not pay for loading undici and the emulator.
const COMMANDS: Record<string, () => Promise<Command>> = {
  upload: async () => (await import('./upload-command.js')).uploadCommand,
  'add-files': async () => (await import('./add-files-command.js')).addFilesCommand,
  rows: async () => (await import('./rows-command.js')).rowsCommand,
  emulator: async () => (await import('./emulator-command.js')).emulatorCommand,
  demo: async () => (await import('./emulator-command.js')).demoCommand,
};

/** Flags that may stand before the command (`redivis-upload --debug upload ...`), and whether each takes a value. */
const GLOBAL_FLAGS: Record<string, boolean> = {
  '--debug': false,
  '--json': false,
  '--emulator': false,
  '--retries': true,
  '--request-timeout': true,
};

/** Moves global flags given before the command to just after it, where the command's parser finds them. */
export function hoistGlobalFlags(argv: readonly string[]): string[] {
  const leading: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i]!;
    const name = arg.split('=', 1)[0]!;
    const takesValue = GLOBAL_FLAGS[name];
    if (takesValue === undefined) break;
    leading.push(arg);
    i += 1;
    if (takesValue && !arg.includes('=') && i < argv.length) leading.push(argv[i++]!);
  }
  if (leading.length === 0 || i >= argv.length) return [...argv];
  return [argv[i]!, ...leading, ...argv.slice(i + 1)];
}

/** Runs one command line (without the `node` and script arguments) and resolves with its exit code. */
export async function run(givenArgv: string[], io: CliIo): Promise<number> {
  const argv = hoistGlobalFlags(givenArgv);
  const flags = flagsOf(argv);
  const ctx: CommandContext = {
    io,
    output: new Output(io.stdout, io.stderr),
    debug: flags.includes('--debug'),
    json: flags.includes('--json'),
    words: { paths: [] },
  };
  // Never printed, even before a command has looked at it.
  ctx.output.addSecret(io.env.REDIVIS_API_TOKEN);
  try {
    return await dispatch(argv, ctx);
  } catch (error) {
    if (error instanceof UsageError) {
      const code = reportFailure(ctx, error, 2);
      const command = argv[0] !== undefined && Object.hasOwn(COMMANDS, argv[0]) ? `${argv[0]} ` : '';
      ctx.output.err(`Try 'redivis-upload ${command}--help'.`);
      return code;
    }
    return reportFailure(ctx, error, 1);
  }
}

async function dispatch(argv: string[], ctx: CommandContext): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
      ctx.io.stderr.write(MAIN_HELP);
      return 2;
    case 'help':
      if (rest[0] !== undefined && Object.hasOwn(COMMANDS, rest[0])) return (await COMMANDS[rest[0]]!())(['--help'], ctx);
      ctx.io.stdout.write(MAIN_HELP);
      return 0;
    case '-h':
    case '--help':
      ctx.io.stdout.write(MAIN_HELP);
      return 0;
    case '-v':
    case '--version':
      ctx.io.stdout.write(`${packageVersion()}\n`);
      return 0;
    default: {
      if (!Object.hasOwn(COMMANDS, command)) {
        const names = Object.keys(COMMANDS);
        const suggestion = command.startsWith('-') ? undefined : suggestOption(command, names);
        throw new UsageError(
          command.startsWith('-')
            ? `unknown option ${command} before the command; commands: ${names.join(', ')} (options other than ${Object.keys(GLOBAL_FLAGS).join(', ')} go after the command)`
            : `unknown command ${JSON.stringify(command)}${suggestion ? `; did you mean ${suggestion}?` : ''}; commands: ${names.join(', ')}`,
        );
      }
      return (await COMMANDS[command]!())(rest, ctx);
    }
  }
}
