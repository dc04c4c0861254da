/**
 * Command line of the benchmark runner.
 * @module
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { GiB, KiB, MiB } from './protocol.js';

export interface BenchOptions {
  /** Bytes per loopback upload; the link cases send half (at least 128 MiB), the memory series ¼, 1 and 4 times. */
  size: number;
  quick: boolean;
  reps: number;
  skipLarge: boolean;
  only: RegExp | undefined;
  list: boolean;
  cpuProf: boolean;
  /** Where latest.json, latest.md and profiles go. */
  outDir: string;
  /** The SVG chart; undefined with --no-chart. */
  chartPath: string | undefined;
}

/** The repository root, from build/benchmarks/args.js. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const USAGE = `Usage: node build/benchmarks/run.js [options]

  --size <n>       bytes per loopback upload, e.g. 1GiB, 512MiB, 1073741824 (default 1GiB); the link
                   cases send half of it (at least 128 MiB), the memory series 1/4, 1 and 4 times
  --quick          --size 128MiB, fewer files, a smaller stream-chunker case: a smoke run
  --reps <n>       repetitions of every case (default 3); the median is quoted, min and max shown
  --skip-large     leave out the 4 × size point of the memory series
  --only <regex>   run only the cases whose id matches (the cases they are compared with are kept)
  --list           print the cases and exit
  --cpu-prof       write a V8 CPU profile of every client process into <out>/profiles
  --out <dir>      results folder (default benchmarks/results)
  --chart <file>   SVG chart (default docs/benchmarks.svg); --no-chart to skip it
  --help           this text
`;

/** Parses `1GiB`, `128MiB`, `64KiB`, `1.5GiB` or a plain byte count. */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|K|M|G)?$/i.exec(text.trim());
  if (!match) throw new Error(`not a size: ${text} (try 1GiB, 512MiB or a byte count)`);
  const unit = (match[2] ?? 'B').toLowerCase();
  const factor = unit.startsWith('g') ? GiB : unit.startsWith('m') ? MiB : unit.startsWith('k') ? KiB : 1;
  const bytes = Math.round(Number(match[1]) * factor);
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new Error(`not a usable size: ${text}`);
  return bytes;
}

export function parseArgs(argv: string[]): BenchOptions | 'help' {
  const options: BenchOptions = {
    size: GiB,
    quick: false,
    reps: 3,
    skipLarge: false,
    only: undefined,
    list: false,
    cpuProf: false,
    outDir: join(ROOT, 'benchmarks', 'results'),
    chartPath: join(ROOT, 'docs', 'benchmarks.svg'),
  };
  let sizeGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    switch (arg) {
      case '--help':
      case '-h':
        return 'help';
      case '--size':
        options.size = parseSize(value());
        sizeGiven = true;
        break;
      case '--quick':
        options.quick = true;
        break;
      case '--reps': {
        const reps = Number(value());
        if (!Number.isInteger(reps) || reps < 1) throw new Error('--reps needs a positive integer');
        options.reps = reps;
        break;
      }
      case '--skip-large':
        options.skipLarge = true;
        break;
      case '--only':
        options.only = new RegExp(value());
        break;
      case '--list':
        options.list = true;
        break;
      case '--cpu-prof':
        options.cpuProf = true;
        break;
      case '--out':
        options.outDir = value();
        break;
      case '--chart':
        options.chartPath = value();
        break;
      case '--no-chart':
        options.chartPath = undefined;
        break;
      default:
        throw new Error(`unknown option ${arg}\n\n${USAGE}`);
    }
  }
  if (options.quick && !sizeGiven) options.size = 128 * MiB;
  return options;
}
