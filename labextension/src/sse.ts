/**
 * Server-sent events over `fetch`: an incremental parser of the `text/event-stream` format and a
 * client that reads a stream and reconnects with backoff. Fetch rather than `EventSource` because
 * the request goes through `ServerConnection.makeRequest`, which adds the token and XSRF headers
 * jupyter_server wants; `EventSource` can send neither.
 *
 * No JupyterLab imports: the opener is injected, and so are the timers, so jest drives both.
 */

export interface IServerEvent {
  /** `message` when the server named no event. */
  event: string;
  data: string;
  id: string | null;
}

/** Feed it decoded text in any chunking; it hands back the events that the text completes. */
export class SseParser {
  /** The reconnection delay the server asked for with `retry:`, if it did. */
  retry: number | null = null;
  lastEventId: string | null = null;

  feed(chunk: string): IServerEvent[] {
    this._buffer += chunk;
    const events: IServerEvent[] = [];
    let start = 0;
    for (let i = 0; i < this._buffer.length; i++) {
      const c = this._buffer[i];
      if (c !== '\n' && c !== '\r') {
        continue;
      }
      // A `\r` closing the chunk may be the first half of `\r\n`: wait for the next chunk.
      if (c === '\r' && i === this._buffer.length - 1) {
        break;
      }
      const line = this._buffer.slice(start, i);
      if (c === '\r' && this._buffer[i + 1] === '\n') {
        i++;
      }
      start = i + 1;
      const event = this._line(line);
      if (event) {
        events.push(event);
      }
    }
    this._buffer = this._buffer.slice(start);
    return events;
  }

  private _line(line: string): IServerEvent | null {
    if (line === '') {
      return this._dispatch();
    }
    if (line.startsWith(':')) {
      return null; // a comment: the server's keep-alive
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) {
      value = value.slice(1);
    }
    if (field === 'event') {
      this._event = value;
    } else if (field === 'data') {
      this._data.push(value);
    } else if (field === 'id' && !value.includes('\0')) {
      this.lastEventId = value;
    } else if (field === 'retry' && /^\d+$/.test(value)) {
      this.retry = Number(value);
    }
    return null;
  }

  private _dispatch(): IServerEvent | null {
    const data = this._data;
    const event = this._event;
    this._data = [];
    this._event = '';
    if (data.length === 0) {
      return null;
    }
    return { event: event || 'message', data: data.join('\n'), id: this.lastEventId };
  }

  private _buffer = '';
  private _data: string[] = [];
  private _event = '';
}

/** Exponential backoff from `base`, capped at `max`: 1 s, 2 s, 4 s … 30 s by default. */
export function reconnectDelay(attempt: number, base = 1000, max = 30000): number {
  return Math.min(max, base * 2 ** Math.max(0, attempt));
}

export type StreamState = 'connecting' | 'open' | 'closed';

/** What the client needs of its surroundings; the plugin passes `ServerConnection` and `window`. */
export interface IStreamOptions {
  /** Start the request; the stream is the response body. */
  open: (signal: AbortSignal) => Promise<Response>;
  onEvent: (event: IServerEvent) => void;
  onState?: (state: StreamState, error?: unknown) => void;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
  /** Reconnect when no byte (not even a keep-alive comment) came for this long; 0 turns it off. */
  idleTimeout?: number;
  baseDelay?: number;
  maxDelay?: number;
}

/**
 * Reads one stream at a time; when it ends or fails, waits `reconnectDelay(attempt)` (or the
 * server's `retry:`) and opens it again, until `stop()`. The attempt count resets once an event
 * arrives, so a long-lived stream that drops reconnects quickly.
 */
export class EventStreamClient {
  constructor(options: IStreamOptions) {
    this._options = options;
    this._setTimeout = options.setTimeout ?? ((fn, ms) => setTimeout(fn, ms));
    this._clearTimeout =
      options.clearTimeout ?? (h => clearTimeout(h as ReturnType<typeof setTimeout>));
  }

  get running(): boolean {
    return this._running;
  }

  /** How many consecutive failed attempts preceded the current one. */
  get attempt(): number {
    return this._attempt;
  }

  start(): void {
    if (this._running) {
      return;
    }
    this._running = true;
    this._attempt = 0;
    void this._connect();
  }

  stop(): void {
    this._running = false;
    this._clearTimer('_retryTimer');
    this._clearTimer('_idleTimer');
    this._abort?.abort();
    this._abort = null;
    this._options.onState?.('closed');
  }

  /** Drop the current connection and open a new one at once (a namespace change, a refresh). */
  restart(): void {
    this.stop();
    this.start();
  }

  private async _connect(): Promise<void> {
    if (!this._running) {
      return;
    }
    const abort = new AbortController();
    this._abort = abort;
    const parser = new SseParser();
    this._options.onState?.('connecting');
    let failure: unknown = null;
    try {
      const response = await this._options.open(abort.signal);
      if (!response.ok || !response.body) {
        throw new Error(`stream answered ${response.status} ${response.statusText}`);
      }
      await this._read(response.body, parser, abort);
    } catch (error) {
      failure = error;
    }
    this._clearTimer('_idleTimer');
    if (!this._running || this._abort !== abort) {
      return; // stopped or restarted meanwhile: the newer connection owns the state
    }
    this._abort = null;
    this._options.onState?.('closed', failure ?? undefined);
    const delay =
      parser.retry ??
      reconnectDelay(this._attempt, this._options.baseDelay, this._options.maxDelay);
    this._attempt++;
    this._retryTimer = this._setTimeout(() => {
      this._retryTimer = null;
      void this._connect();
    }, delay);
  }

  private async _read(
    body: ReadableStream<Uint8Array>,
    parser: SseParser,
    abort: AbortController
  ): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let opened = false;
    // Aborting ends a pending read even when the body does not watch the signal itself.
    const cancel = (): void => void reader.cancel().catch(() => undefined);
    abort.signal.addEventListener('abort', cancel);
    this._armIdle(abort);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || abort.signal.aborted) {
          return;
        }
        this._armIdle(abort);
        for (const event of parser.feed(decoder.decode(value, { stream: true }))) {
          if (!opened) {
            opened = true;
            this._attempt = 0;
            this._options.onState?.('open');
          }
          this._options.onEvent(event);
        }
      }
    } finally {
      abort.signal.removeEventListener('abort', cancel);
      reader.releaseLock();
    }
  }

  private _armIdle(abort: AbortController): void {
    this._clearTimer('_idleTimer');
    const idle = this._options.idleTimeout ?? 45000;
    if (idle > 0) {
      this._idleTimer = this._setTimeout(() => abort.abort(), idle);
    }
  }

  private _clearTimer(which: '_retryTimer' | '_idleTimer'): void {
    if (this[which] !== null) {
      this._clearTimeout(this[which]);
      this[which] = null;
    }
  }

  private _options: IStreamOptions;
  private _setTimeout: (fn: () => void, ms: number) => unknown;
  private _clearTimeout: (handle: unknown) => void;
  private _running = false;
  private _attempt = 0;
  private _abort: AbortController | null = null;
  private _retryTimer: unknown = null;
  private _idleTimer: unknown = null;
}
