/**
 * Chooses the fault, if any, that applies to a request: the most specific scripted rule, else a seeded random fault.
 * @module
 */
import { randomInt } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
import type { Fault, FaultKind, FaultRule, RequestKind } from './fault-types.js';
import type { RandomFaultOptions } from './options.js';

const FAULT_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
const REQUEST_KINDS = new Set<RequestKind>(['api', 'rows', 'simple', 'initiate', 'chunk', 'status', 'finalize', 'cancel', 'other']);
const FAULT_KINDS = new Set<FaultKind>(['status', 'reset', 'stall', 'expire', 'terminate', 'omitRange']);
const DEFAULT_RANDOM_KINDS: FaultKind[] = ['status', 'reset', 'omitRange'];

/** What the fault engine needs to know about a request. */
export interface FaultCandidate {
  kind: RequestKind;
  tempUploadId: string | undefined;
  /** Declared body length, when known. */
  bodyLength: number | undefined;
}

/** A short label of a fault for the request log, e.g. `503`, `reset:1048576`, `stall:2000`. */
export function describeFault(fault: Fault): string {
  switch (fault.kind) {
    case 'status':
      if (fault.afterProcessing) return `${fault.status}:processed`;
      return `${fault.status}${fault.afterBytes === undefined ? '' : `:after=${fault.afterBytes}`}${fault.exactBytes ? ':exact' : ''}`;
    case 'reset':
      return fault.afterBytes === undefined ? 'reset' : `reset:${fault.afterBytes}${fault.exactBytes ? ':exact' : ''}`;
    case 'stall':
      return `stall:${fault.ms}`;
    default:
      return fault.kind;
  }
}

/** A mulberry32 generator: small, fast and reproducible from a 32-bit seed. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Throws {@link InvalidArgumentError} when a rule is not well formed. */
export function validateFaultRule(rule: FaultRule, argument = 'faults[]'): void {
  if (rule === null || typeof rule !== 'object' || rule.fault === null || typeof rule.fault !== 'object') {
    throw new InvalidArgumentError(argument, 'an object with a `fault`', rule);
  }
  const fault = rule.fault;
  if (!FAULT_KINDS.has(fault.kind)) throw new InvalidArgumentError(`${argument}.fault.kind`, [...FAULT_KINDS].join(' | '), fault.kind);
  if (fault.kind === 'status') {
    if (!FAULT_STATUSES.has(fault.status)) {
      throw new InvalidArgumentError(`${argument}.fault.status`, 'one of 408, 429, 500, 502, 503, 504', fault.status);
    }
    if (fault.retryAfter !== undefined && (typeof fault.retryAfter !== 'string' || /[\r\n]/.test(fault.retryAfter))) {
      throw new InvalidArgumentError(`${argument}.fault.retryAfter`, 'a header value string', fault.retryAfter);
    }
    if (fault.afterProcessing !== undefined && typeof fault.afterProcessing !== 'boolean') {
      throw new InvalidArgumentError(`${argument}.fault.afterProcessing`, 'a boolean', fault.afterProcessing);
    }
    if (fault.afterProcessing === true && fault.afterBytes !== undefined) {
      throw new InvalidArgumentError(`${argument}.fault`, 'afterBytes or afterProcessing, not both', fault);
    }
  }
  if ((fault.kind === 'status' || fault.kind === 'reset') && fault.afterBytes !== undefined && !isNonNegativeInteger(fault.afterBytes)) {
    throw new InvalidArgumentError(`${argument}.fault.afterBytes`, 'a non-negative integer', fault.afterBytes);
  }
  if ((fault.kind === 'status' || fault.kind === 'reset') && fault.exactBytes !== undefined) {
    if (typeof fault.exactBytes !== 'boolean') throw new InvalidArgumentError(`${argument}.fault.exactBytes`, 'a boolean', fault.exactBytes);
    if (fault.exactBytes && fault.afterBytes === undefined) {
      throw new InvalidArgumentError(`${argument}.fault.exactBytes`, 'to come with afterBytes (the bytes to persist exactly)', fault.exactBytes);
    }
  }
  if (fault.kind === 'stall' && !isNonNegativeInteger(fault.ms)) {
    throw new InvalidArgumentError(`${argument}.fault.ms`, 'a non-negative integer of milliseconds', fault.ms);
  }
  const match = rule.match;
  if (match !== undefined) {
    const kinds = match.kind === undefined ? [] : Array.isArray(match.kind) ? match.kind : [match.kind];
    for (const kind of kinds) {
      if (!REQUEST_KINDS.has(kind)) throw new InvalidArgumentError(`${argument}.match.kind`, [...REQUEST_KINDS].join(' | '), kind);
    }
    if (match.nth !== undefined && (!isNonNegativeInteger(match.nth) || match.nth < 1)) {
      throw new InvalidArgumentError(`${argument}.match.nth`, 'an integer >= 1', match.nth);
    }
    if (match.tempUploadId !== undefined && typeof match.tempUploadId !== 'string') {
      throw new InvalidArgumentError(`${argument}.match.tempUploadId`, 'a string', match.tempUploadId);
    }
  }
  const times = rule.times;
  if (times !== undefined && !(times === Infinity || (isNonNegativeInteger(times) && times >= 1))) {
    throw new InvalidArgumentError(`${argument}.times`, 'an integer >= 1 or Infinity', times);
  }
}

interface RuleState {
  rule: FaultRule;
  kinds: RequestKind[] | undefined;
  /** Matching requests counted so far (the rule's `nth` counts among these). */
  seen: number;
  fired: number;
  /** Higher wins when several rules may fire on one request (see {@link FaultRule}). */
  specificity: number;
}

function specificityOf(rule: FaultRule): number {
  const match = rule.match;
  return (
    (match?.nth !== undefined ? 8 : 0) +
    (match?.tempUploadId !== undefined ? 4 : 0) +
    (match?.kind !== undefined ? 2 : 0) +
    ((rule.times ?? 1) !== Infinity ? 1 : 0)
  );
}

/** Whether the rule may fire on the request it has just counted. */
function mayFire(state: RuleState): boolean {
  const times = state.rule.times ?? 1;
  const nth = state.rule.match?.nth;
  // A positional rule owns requests nth .. nth + times - 1 of its count; any other rule the next ones it wins.
  return nth === undefined ? state.fired < times : state.seen >= nth && state.seen < nth + times;
}

export class FaultEngine {
  private rules: RuleState[] = [];
  private readonly random: (() => number) | undefined;
  private readonly probability: number;
  private readonly randomKinds: FaultKind[];
  /** Seed of the random faults, when enabled. */
  readonly seed: number | undefined;

  constructor(rules: FaultRule[] | undefined, random: RandomFaultOptions | undefined) {
    for (const [index, rule] of (rules ?? []).entries()) this.add(rule, `faults[${index}]`);
    if (random === undefined) {
      this.probability = 0;
      this.randomKinds = [];
      return;
    }
    if (typeof random.probability !== 'number' || !(random.probability >= 0 && random.probability <= 1)) {
      throw new InvalidArgumentError('randomFaults.probability', 'a number from 0 to 1', random.probability);
    }
    if (random.seed !== undefined && !(isNonNegativeInteger(random.seed) && random.seed <= 0xffffffff)) {
      throw new InvalidArgumentError('randomFaults.seed', 'a 32-bit unsigned integer', random.seed);
    }
    const kinds = random.kinds ?? DEFAULT_RANDOM_KINDS;
    if (!Array.isArray(kinds) || kinds.length === 0 || kinds.some((kind) => !FAULT_KINDS.has(kind))) {
      throw new InvalidArgumentError('randomFaults.kinds', `a non-empty array of ${[...FAULT_KINDS].join(', ')}`, kinds);
    }
    this.seed = random.seed ?? randomInt(0, 0xffffffff);
    this.random = mulberry32(this.seed);
    this.probability = random.probability;
    this.randomKinds = kinds;
  }

  add(rule: FaultRule, argument = 'rule'): void {
    validateFaultRule(rule, argument);
    const kind = rule.match?.kind;
    const kinds = kind === undefined ? undefined : Array.isArray(kind) ? [...kind] : [kind];
    this.rules.push({ rule, kinds, seen: 0, fired: 0, specificity: specificityOf(rule) });
  }

  clear(): void {
    this.rules = [];
  }

  /**
   * The fault for this request, if any: of the rules that match and may fire, the most specific (the first added
   * at a tie). Counts the request against every rule it matches.
   */
  select(request: FaultCandidate): Fault | undefined {
    let chosen: RuleState | undefined;
    for (const state of this.rules) {
      const { rule } = state;
      const matchesKind = state.kinds === undefined ? request.kind !== 'api' : state.kinds.includes(request.kind);
      if (!matchesKind) continue;
      if (rule.match?.tempUploadId !== undefined && rule.match.tempUploadId !== request.tempUploadId) continue;
      state.seen += 1;
      if (mayFire(state) && (chosen === undefined || state.specificity > chosen.specificity)) chosen = state;
    }
    if (chosen !== undefined) {
      chosen.fired += 1;
      return chosen.rule.fault;
    }
    if (this.random === undefined || request.kind === 'api') return undefined;
    return this.randomFault(request, this.random);
  }

  private randomFault(request: FaultCandidate, random: () => number): Fault | undefined {
    if (random() >= this.probability) return undefined;
    const kind = this.randomKinds[Math.floor(random() * this.randomKinds.length)]!;
    const length = request.bodyLength ?? 0;
    if (request.kind === 'rows') return randomRowsFault(kind, length, random);
    const afterBytes = length > 0 && random() < 0.5 ? Math.floor(random() * length) : undefined;
    switch (kind) {
      case 'status':
        return afterBytes === undefined ? { kind: 'status', status: 503 } : { kind: 'status', status: 503, afterBytes };
      case 'reset':
        return afterBytes === undefined ? { kind: 'reset' } : { kind: 'reset', afterBytes };
      case 'stall':
        return { kind: 'stall', ms: Math.floor(random() * 50) };
      default:
        return { kind };
    }
  }
}

/** A random fault for a rows request: status and reset before or after processing; session kinds do nothing. */
function randomRowsFault(kind: FaultKind, length: number, random: () => number): Fault | undefined {
  const afterProcessing = random() < 0.5;
  switch (kind) {
    case 'status':
      return afterProcessing ? { kind: 'status', status: 503, afterProcessing } : { kind: 'status', status: 503 };
    case 'reset':
      return afterProcessing ? { kind: 'reset' } : { kind: 'reset', afterBytes: Math.floor(random() * length) };
    case 'stall':
      return { kind: 'stall', ms: Math.floor(random() * 50) };
    default:
      return undefined;
  }
}
