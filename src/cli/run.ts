/**
 * Command dispatch for `redivis-upload`. Kept apart from `main.ts` so tests can run commands in-process.
 * Exit codes: 0 success, 1 failure, 2 usage error, 130/143 interrupted by SIGINT/SIGTERM.
 * @module
 */
import { packageVersion } from '../client/user-agent.js';
import { flagsOf, UsageError } from './args.js';
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
  emulator: async () => (await import('./emulator-command.js')).emulatorCommand,
  demo: async () => (await import('./emulator-command.js')).demoCommand,
};

/** Runs one command line (without the `node` and script arguments) and resolves with its exit code. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const flags = flagsOf(argv);
  const ctx: CommandContext = {
    io,
    output: new Output(io.stdout, io.stderr),
    debug: flags.includes('--debug'),
    json: flags.includes('--json'),
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
        throw new UsageError(`unknown command ${JSON.stringify(command)}; commands: ${Object.keys(COMMANDS).join(', ')}`);
      }
      return (await COMMANDS[command]!())(rest, ctx);
    }
  }
}
