/**
 * Fault injection types of the emulator: which requests a scripted rule matches and what it does to them.
 * @module
 */

/**
 * Which part of the protocol a request belongs to. `rows` is a `POST <upload.uri>/rows` of a stream upload; `api`
 * is every other API call.
 */
export type RequestKind = 'api' | 'rows' | 'simple' | 'initiate' | 'chunk' | 'status' | 'finalize' | 'cancel' | 'other';

/** The kinds of fault the emulator can inject. */
export type FaultKind = 'status' | 'reset' | 'stall' | 'expire' | 'terminate' | 'omitRange';

/** What a fault does. */
export type Fault =
  /**
   * Answer `status` (with `Retry-After` when given). By default nothing is processed: the request has no effect.
   * With `afterBytes` K the first K body bytes are read first and, for a data chunk, persisted as GCS persists an
   * interrupted chunk (see `exactBytes`); other requests store nothing. With `afterProcessing` the request is
   * handled in full (a chunk persisted, rows stored, temp uploads created) and its answer replaced by `status`.
   */
  | {
      /** Selects this variant. */
      kind: 'status';
      /** HTTP status to answer. */
      status: 408 | 429 | 500 | 502 | 503 | 504;
      /**
       * Value of the `Retry-After` header (seconds or an HTTP date).
       * @default undefined (no Retry-After header)
       */
      retryAfter?: string;
      /**
       * Body bytes read (and, for a data chunk, persisted) before answering.
       * @default undefined (nothing is read or persisted)
       */
      afterBytes?: number;
      /**
       * Persist exactly `afterBytes` bytes of a data chunk, even when that is not a multiple of 256 KiB.
       * @default false (the part persisted ends at a 256 KiB boundary, as GCS keeps it; exact when the emulator
       * runs with `alignUnalignedChunks: false`)
       */
      exactBytes?: boolean;
      /**
       * Handle the request fully, then answer `status` instead of its real answer. Not with `afterBytes`.
       * @default false (answer before processing)
       */
      afterProcessing?: boolean;
    }
  /**
   * Destroy the socket without a response. With `afterBytes` K: after reading K body bytes (a data chunk keeps
   * them as `exactBytes` says; any other request stores nothing, so `reset:0` is a reset before
   * processing). Without it: after processing the request fully, so its effect stays (rows stored, a chunk
   * persisted) but its answer is lost.
   */
  | {
      /** Selects this variant. */
      kind: 'reset';
      /**
       * Body bytes read before the reset.
       * @default undefined (reset after the request was fully processed)
       */
      afterBytes?: number;
      /**
       * Persist exactly `afterBytes` bytes of a data chunk, even when that is not a multiple of 256 KiB.
       * @default false (the part persisted ends at a 256 KiB boundary, as GCS keeps it)
       */
      exactBytes?: boolean;
    }
  /** Wait `ms` milliseconds before handling the request. */
  | {
      /** Selects this variant. */
      kind: 'stall';
      /** Delay before handling, in milliseconds. */
      ms: number;
    }
  /** Expire the session (404) at this request, then handle it. */
  | {
      /** Selects this variant. */
      kind: 'expire';
    }
  /** Terminate the session (410) at this request, then handle it. */
  | {
      /** Selects this variant. */
      kind: 'terminate';
    }
  /** Answer a 308 without its `Range` header. */
  | {
      /** Selects this variant. */
      kind: 'omitRange';
    };

/** Which requests a fault applies to. */
export interface FaultMatch {
  /**
   * Request kind(s). Without it, every upload-URL request and every `rows` request matches (other API calls only
   * match when `'api'` is listed).
   * @default every upload-URL kind and `'rows'` (not `'api'`)
   */
  kind?: RequestKind | RequestKind[];
  /**
   * Only requests for this temp upload.
   * @default any temp upload
   */
  tempUploadId?: string;
  /**
   * 1-based index among the requests this rule matches, counted from when the rule was added. A rule with `nth`
   * is positional: it fires at requests `nth` … `nth + times - 1` of its count, and only there.
   * @default the next matching request (the rule waits for a request that no more specific rule takes)
   */
  nth?: number;
}

/**
 * A scripted fault.
 *
 * When several rules match one request, the most specific one that may fire applies, and only that one: a rule
 * with `nth` beats one without; then one naming a `tempUploadId`; then one naming kinds; then one with a finite
 * `times` beats an unlimited one (`Infinity`); at a tie the rule added first. Every matching rule counts the
 * request toward its `nth`, whichever fires. A positional rule that loses one of its requests skips it; a rule
 * without `nth` that loses is not used up and fires on a later request.
 */
export interface FaultRule {
  /**
   * Which requests the rule applies to.
   * @default the next upload-URL or rows request of any kind
   */
  match?: FaultMatch;
  /** What happens to a matching request. */
  fault: Fault;
  /**
   * How many times the rule fires: on consecutive matching requests from the `nth`, or on the next matching
   * requests it wins. `Infinity` = always.
   * @default 1 (fires once)
   */
  times?: number;
}
