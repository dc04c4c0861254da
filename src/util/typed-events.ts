/**
 * Typed events for the library's Writables: their own events get typed payloads, `error` an `Error`, and a
 * misspelt event name does not compile.
 * @module
 */

/** The events every Writable has. */
export type WritableEventName = 'close' | 'drain' | 'error' | 'finish' | 'pipe' | 'unpipe';

/** Every event name of a Writable whose own events are `Events` (name -> payload tuple). */
export type EventNameOf<Events> = keyof Events | WritableEventName;

/** The listener of event `K`: typed payloads for the stream's own events and for `error`. */
export type ListenerOf<Events, K> = K extends keyof Events
  ? (...args: Extract<Events[K], unknown[]>) => void
  : K extends 'error'
    ? (error: Error) => void
    : // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as Node types them, so `resolve` fits `once('close', resolve)`
      (...args: any[]) => void;
