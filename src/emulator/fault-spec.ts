/**
 * The command line's compact fault syntax.
 * @module
 */
import { InvalidArgumentError } from '../errors.js';
import { validateFaultRule } from './faults.js';
import type { Fault, FaultRule, RequestKind } from './fault-types.js';

const GRAMMAR =
  'comma-separated rules FAULT[@TARGET][*TIMES], FAULT = STATUS[:retry=V][:after=K[:exact]|:processed] | ' +
  'reset[:K[:exact]] | stall:MS | expire | terminate | omitRange, TARGET = [KIND[|KIND...]][~TEMP_UPLOAD_ID][#NTH]';

const STATUSES = new Set(['408', '429', '500', '502', '503', '504']);
const KINDS = new Set<RequestKind>(['api', 'rows', 'simple', 'initiate', 'chunk', 'status', 'finalize', 'cancel', 'other']);

function bad(rule: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError('faults', `${GRAMMAR} (${why})`, rule);
}

function integer(text: string, rule: string, what: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(text) || !Number.isSafeInteger(Number(text))) throw bad(rule, `${what} must be a non-negative integer`);
  return Number(text);
}

function parseFault(text: string, rule: string): Fault {
  const [head, ...options] = text.split(':');
  if (head !== undefined && STATUSES.has(head)) {
    const fault: Extract<Fault, { kind: 'status' }> = { kind: 'status', status: Number(head) as 503 };
    for (const option of options) {
      if (option.startsWith('retry=') && option.length > 'retry='.length) fault.retryAfter = option.slice('retry='.length);
      else if (option.startsWith('after=')) fault.afterBytes = integer(option.slice('after='.length), rule, 'after');
      else if (/^\d+$/.test(option)) fault.afterBytes = integer(option, rule, 'after');
      else if (option === 'processed') fault.afterProcessing = true;
      else if (option === 'exact') fault.exactBytes = true;
      else throw bad(rule, `unknown status option ${JSON.stringify(option)}`);
    }
    if (fault.afterProcessing && fault.afterBytes !== undefined) throw bad(rule, 'after=K and processed cannot be combined');
    if (fault.exactBytes && fault.afterBytes === undefined) throw bad(rule, 'exact needs after=K');
    return fault;
  }
  if (head === 'reset') {
    if (options.length === 0) return { kind: 'reset' };
    const exact = options.length === 2 && options[1] === 'exact';
    const only = options.length === 1 || exact ? options[0]!.replace(/^after=/, '') : '';
    const fault: Extract<Fault, { kind: 'reset' }> = { kind: 'reset', afterBytes: integer(only, rule, 'reset bytes') };
    if (exact) fault.exactBytes = true;
    return fault;
  }
  if (head === 'stall') {
    if (options.length !== 1) throw bad(rule, 'stall needs a duration, e.g. stall:2000');
    return { kind: 'stall', ms: integer(options[0]!, rule, 'stall duration') };
  }
  if ((head === 'expire' || head === 'terminate' || head === 'omitRange') && options.length === 0) return { kind: head };
  throw bad(rule, `unknown fault ${JSON.stringify(text)}`);
}

function parseTarget(text: string, rule: string): NonNullable<FaultRule['match']> {
  const match = /^([A-Za-z|]*)(?:~([^#]+))?(?:#(\d+))?$/.exec(text);
  if (!match) throw bad(rule, `malformed target ${JSON.stringify(text)}`);
  const [, kindText, tempUploadId, nth] = match;
  const result: NonNullable<FaultRule['match']> = {};
  if (kindText) {
    const kinds = kindText.split('|');
    for (const kind of kinds) if (!KINDS.has(kind as RequestKind)) throw bad(rule, `unknown request kind ${JSON.stringify(kind)}`);
    result.kind = kinds.length === 1 ? (kinds[0] as RequestKind) : (kinds as RequestKind[]);
  }
  if (tempUploadId !== undefined) result.tempUploadId = tempUploadId;
  if (nth !== undefined) {
    result.nth = integer(nth, rule, 'nth');
    if (result.nth < 1) throw bad(rule, 'nth counts from 1');
  }
  return result;
}

/**
 * Parses the command line's fault syntax into {@link FaultRule}s, e.g.
 * `503@chunk#2,reset:1048576@chunk#3,stall:2000@status,omitRange@chunk#1,429:retry=1@chunk`.
 *
 * Grammar (whitespace around rules is ignored):
 * ```text
 * spec    = rule *( "," rule )
 * rule    = fault [ "@" target ] [ "*" times ]
 * fault   = status *( ":" status-option )
 *         / "reset" [ ":" bytes [ ":exact" ] ] ; destroy the socket after K body bytes (reset:0 = before
 *                                            ; processing), or after processing
 *         / "stall:" milliseconds            ; wait before handling
 *         / "expire" / "terminate"           ; session answers 404 / 410 from this request on
 *         / "omitRange"                      ; 308 without its Range header
 * status  = "408" / "429" / "500" / "502" / "503" / "504"
 * status-option = "retry=" value             ; Retry-After header value (no , : @ * # characters)
 *         / [ "after=" ] bytes               ; persist the first K bytes of the chunk first (to the last
 *                                            ; 256 KiB boundary, as GCS keeps an interrupted chunk)
 *         / "exact"                          ; with after=K: persist exactly K bytes, even unaligned
 *         / "processed"                      ; handle the request fully, then answer the status
 * target  = [ kind *( "|" kind ) ] [ "~" tempUploadId ] [ "#" nth ]
 * kind    = "api" / "rows" / "simple" / "initiate" / "chunk" / "status" / "finalize" / "cancel" / "other"
 * times   = integer >= 1, or "*" alone (no number) for every matching request
 * ```
 * `nth` is the 1-based index among the requests the rule matches; without it the next matching request. Without a
 * kind, a rule matches every upload-URL request and every rows request (not other API calls). When several rules
 * match a request, the most specific applies: one with `#nth`, then one with `~tempUploadId`, then one with kinds,
 * then one with a count over an unlimited `*`; at a tie the earlier rule. So `omitRange*,503@chunk#2` answers 503
 * to the second chunk and drops the Range of every other 308 (see {@link FaultRule}).
 * @throws {InvalidArgumentError} when the text does not follow the grammar.
 */
export function parseFaultSpec(spec: string): FaultRule[] {
  if (typeof spec !== 'string') throw new InvalidArgumentError('faults', GRAMMAR, spec);
  const rules: FaultRule[] = [];
  for (const raw of spec.split(',')) {
    const text = raw.trim();
    if (text === '') throw bad(raw, 'empty rule');
    let rest = text;
    let times: number | undefined;
    const star = rest.lastIndexOf('*');
    if (star >= 0) {
      const count = rest.slice(star + 1);
      times = count === '' ? Infinity : integer(count, text, 'times');
      if (times < 1) throw bad(text, 'times must be at least 1');
      rest = rest.slice(0, star);
    }
    const at = rest.indexOf('@');
    const fault = parseFault(at < 0 ? rest : rest.slice(0, at), text);
    const rule: FaultRule = { fault };
    if (at >= 0) rule.match = parseTarget(rest.slice(at + 1), text);
    if (times !== undefined) rule.times = times;
    validateFaultRule(rule, 'faults');
    rules.push(rule);
  }
  return rules;
}
