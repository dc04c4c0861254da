/**
 * The `--help` texts of `redivis-upload` and its commands.
 * @module
 */
import { DEFAULT_EXCLUDES } from '../flows/file-inputs.js';

const EXIT_STATUS = `Exit status: 0 success, 1 failure, 2 usage error, 130 interrupted by Ctrl+C (SIGINT),
143 terminated (SIGTERM).`;

const ENVIRONMENT = `Environment:
  REDIVIS_API_TOKEN       API token with the data.edit scope. Never printed; there is no option for it,
                          so it stays out of shell histories and process lists.
  REDIVIS_API_ENDPOINT    API base URL (default: https://redivis.com/api/v1)
  NODE_DEBUG=redivis-upload  Log every request on stderr (URLs without query strings, never the token)`;

export const MAIN_HELP = `Usage: redivis-upload <command> [options]

Commands:
  upload <path|->         Upload a tabular file, or standard input, into a table
  add-files <path...>     Add files (or the files below directories) to a file index table
  rows                    Insert NDJSON rows from standard input into a stream upload, each exactly once
  emulator                Run the local Redivis emulator in the foreground
  demo                    Upload a generated, gzipped CSV into an embedded emulator, with faults

Options:
  -h, --help              Show help (also: redivis-upload <command> --help)
  -v, --version           Show the version
  --debug                 On failure, also print the stack traces of the error and its causes

--debug, --json, --emulator, --retries and --request-timeout may also stand before the command:
  redivis-upload --debug upload data.csv --table my_org.my_dataset:next.table

${ENVIRONMENT}

Every command can be tried without an account: add --emulator to upload, add-files or rows.

${EXIT_STATUS}
`;

export const UPLOAD_HELP = `Usage: redivis-upload upload <path|-> --table REF [options]
       redivis-upload upload --from gs://bucket/path --table REF [options]

Sends the data into a temp upload (resumable, retried, checksummed), creates the table's upload from it and
waits until Redivis has processed it. "-" reads standard input as a stream of unknown length and needs --name
(also for the output of a command, instead of <(cmd)):
  pg_dump mydb | gzip | redivis-upload upload - --table my_org.my_dataset:next.dump --name dump.csv.gz

Options:
  --table REF             Table to upload into, on the unreleased version: owner.dataset:next.table (required)
  --name NAME             Name of the upload in the table (default: the file's name; required with -)
  --type TYPE             Format, checked before anything is sent: delimited, csv, tsv, ndjson, avro, parquet,
                          orc, xls, xlsx, dta, sav, sas7bdat, shp, geojson, kml (default: inferred by Redivis
                          from the name's extension)
  --delimiter D           Field delimiter of a delimited file; \\t or tab for a tab (default: detected)
  --no-header             The first row holds data, not column names (default: it holds column names)
  --skip-bad-records      Skip rows that cannot be parsed instead of failing the upload
  --on-conflict MODE      If the table has an upload of that name: error, replace, rename to name_1, ..., or
                          skip (send nothing, exit 0) (default: error)
  --from URL              Let Redivis pull the data itself, instead of <path|->: gs://bucket/path,
                          s3://bucket/path or an https:// URL (nothing passes through this machine)
  --identity EMAIL        With --from gs:// or s3://: the linked Google or AWS identity Redivis reads as
  --no-wait               Return once the upload is created, without waiting for processing
  --chunk-size MiB        Size of each resumable chunk, a multiple of 0.25 MiB (default: 8)
  --retries N             Retries of a failed request before giving up, 0 to 100 (default: 8; the count
                          starts over whenever the upload makes progress)
  --request-timeout S     Seconds to wait for an answer to one request, or for more of it (default: 60)
  --json                  Print exactly one JSON object on stdout: the result, or {"error":{"code","message"}}
  --emulator              Upload into an embedded local emulator instead of Redivis (no account or token
                          needed; the table reference is still checked)
  --debug                 On failure, also print stack traces
  -h, --help              Show this help

Output: on a terminal, a progress bar on stderr (bytes, rate, ETA, retries, and the reason of each retry);
otherwise nothing until one summary line on stdout. Errors are one line on stderr: message [CODE]; caused by: ...
Ctrl+C aborts the transfer and cancels the upload session, then exits with status 130 (a second Ctrl+C exits
at once).

${ENVIRONMENT}

${EXIT_STATUS}
`;

export const ADD_FILES_HELP = `Usage: redivis-upload add-files <path...> --table REF [options]

Uploads files into a file index table: each file into its own temp upload (several at a time), then registers
them. A directory adds every file below it, named by its path relative to the directory (a/b.txt).

Skipped by default, at any depth: ${DEFAULT_EXCLUDES.join(', ')}; also sockets, FIFOs and
links to directories. Skipped entries are counted in the summary and listed with --json. A file that cannot be
read (a dangling link) fails alone; a wrong token or table stops the run with one line. A folder with no file to
add is a failure (exit status 1).

Options:
  --table REF             File index table, on the unreleased version: owner.dataset:next.table (required)
  --exclude GLOB          Leave out names matching GLOB, relative to each directory; repeatable. Without a /
                          it matches a file's or directory's own name at any depth (*.tmp, node_modules); with
                          one, the path from the directory (raw/2023/**, /build); a trailing / matches
                          directories only
  --no-default-excludes   Also add what is skipped by default (version-control folders, OS litter)
  --create-table          Create the table as a file index table if it does not exist
  --concurrency N         Files uploaded at the same time, 1 to 256 (default: 4 per CPU, at most 32)
  --retries N             Retries of a failed request before giving up, 0 to 100 (default: 8; the count
                          starts over whenever the upload makes progress)
  --request-timeout S     Seconds to wait for an answer to one request, or for more of it (default: 60)
  --json                  Print exactly one JSON object on stdout: {"added":[...],"failed":[...],...}, or
                          {"error":{"code","message"}}
  --emulator              Upload into an embedded local emulator instead of Redivis (no account or token
                          needed; the table reference is still checked)
  --debug                 On failure, also print stack traces
  -h, --help              Show this help

Output: on a terminal, a progress bar on stderr (files added and failed, bytes, rate, ETA, retries); otherwise
one summary line on stdout. Files that could not be added are listed on stderr, one per line, and the exit
status is 1. Ctrl+C aborts the transfers, cancels their sessions and exits with status 130.

${ENVIRONMENT}

${EXIT_STATUS}
`;

export const EMULATOR_HELP = `Usage: redivis-upload emulator [options]

Runs the local Redivis API and resumable-upload emulator until interrupted, and prints its endpoint and token
(a fake one, accepted only by this emulator).

Options:
  --port N                Port to listen on, 0 to 65535 (default: a free one)
  --faults SPEC           Scripted faults, e.g. "503@chunk#2,reset:1048576@chunk#3,stall:2000@status"
  --fault-rate P          Probability (0 to 1) of a random fault on each upload request
  --seed N                Seed for random faults (printed when not given)
  --token TOKEN           Token the emulator accepts (default: a random one, printed)
  --read-only-token T     A token that reads but cannot write: every write answers 403 insufficient_scope
                          (default: a random one, printed)
  --table REF             A table that exists; repeatable. Given, every other table answers 404 until it is
                          created (default: every table exists)
  --file-index-table REF  As --table, for a file index table (add-files); repeatable
  --fail-upload NAME=MSG  Uploads named NAME (in any table) fail to import with MSG; repeatable
  --delete-response R     What DELETE of an upload answers: json or ok (default: json)
  --verbose               Log every request on stderr
  -h, --help              Show this help
`;

export const DEMO_HELP = `Usage: redivis-upload demo [--csv-bytes N]

Starts an embedded emulator with injected faults, generates a CSV on the fly, gzips it and streams it through
createTempUploadStream, then checks the stored bytes' MD5 against what was sent.

Options:
  --csv-bytes N           Bytes of CSV to generate before compression (default: 300000000)
  -h, --help              Show this help
`;
