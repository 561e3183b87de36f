import {
  EventStreamClient,
  IServerEvent,
  reconnectDelay,
  SseParser,
  StreamState
} from '../src/sse';

describe('SseParser', () => {
  it('parses named events with JSON data and skips keep-alive comments', () => {
    const parser = new SseParser();
    const events = parser.feed(
      ': keep-alive\n\nevent: snapshot\ndata: {"namespace": "default"}\n\n'
    );
    expect(events).toEqual([{ event: 'snapshot', data: '{"namespace": "default"}', id: null }]);
  });

  it('joins data lines with newlines and defaults the event name to message', () => {
    expect(new SseParser().feed('data: a\ndata: b\n\n')).toEqual([
      { event: 'message', data: 'a\nb', id: null }
    ]);
  });

  it('assembles events split across chunks anywhere, CRLF included', () => {
    const text =
      'event: status\r\ndata: {"running": true}\r\n\r\nevent: snapshot\r\ndata: {}\r\n\r\n';
    for (let cut = 1; cut < text.length; cut++) {
      const parser = new SseParser();
      const events = [...parser.feed(text.slice(0, cut)), ...parser.feed(text.slice(cut))];
      expect(events.map(e => [e.event, e.data])).toEqual([
        ['status', '{"running": true}'],
        ['snapshot', '{}']
      ]);
    }
  });

  it('holds an incomplete event until its blank line arrives', () => {
    const parser = new SseParser();
    expect(parser.feed('event: snapshot\ndata: {}\n')).toEqual([]);
    expect(parser.feed('\n')).toHaveLength(1);
  });

  it('ignores an event with no data, and reads retry and id', () => {
    const parser = new SseParser();
    expect(parser.feed('event: nothing\n\nretry: 2500\nid: 7\ndata:x\n\n')).toEqual([
      { event: 'message', data: 'x', id: '7' }
    ]);
    expect(parser.retry).toBe(2500);
  });

  it('takes a lone CR as a line end', () => {
    expect(new SseParser().feed('data: a\r\rdata: b\r\r\n').map(e => e.data)).toEqual(['a', 'b']);
  });
});

describe('reconnectDelay', () => {
  it.each([
    [0, 1000],
    [1, 2000],
    [3, 8000],
    [5, 30000],
    [50, 30000]
  ])('attempt %i → %i ms', (attempt, ms) => {
    expect(reconnectDelay(attempt)).toBe(ms);
  });
});

/** A response whose body the test writes to. */
function controlledResponse(): {
  response: Response;
  push: (text: string) => void;
  end: () => void;
  fail: () => void;
} {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: c => void (controller = c) });
  const encoder = new TextEncoder();
  return {
    response: new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } }),
    push: text => controller.enqueue(encoder.encode(text)),
    end: () => controller.close(),
    fail: () => controller.error(new Error('connection reset'))
  };
}

/** Timers the test fires by hand. */
class FakeTimers {
  pending = new Map<number, { fn: () => void; ms: number }>();
  private next = 1;
  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = this.next++;
    this.pending.set(id, { fn, ms });
    return id;
  };
  clearTimeout = (id: unknown): void => void this.pending.delete(id as number);
  /** Fire the pending timers of exactly `ms`. */
  fire(ms: number): void {
    for (const [id, timer] of [...this.pending]) {
      if (timer.ms === ms) {
        this.pending.delete(id);
        timer.fn();
      }
    }
  }
  delays(): number[] {
    return [...this.pending.values()].map(t => t.ms).sort((a, b) => a - b);
  }
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) {
    await new Promise(resolve => setTimeout(resolve, 0));
  }
};

describe('EventStreamClient', () => {
  function setup(idleTimeout = 0) {
    const timers = new FakeTimers();
    const events: IServerEvent[] = [];
    const states: StreamState[] = [];
    const streams: ReturnType<typeof controlledResponse>[] = [];
    const opens: AbortSignal[] = [];
    let failOpen = 0;
    const client = new EventStreamClient({
      open: async signal => {
        opens.push(signal);
        if (failOpen > 0) {
          failOpen--;
          throw new TypeError('Failed to fetch');
        }
        const stream = controlledResponse();
        streams.push(stream);
        return stream.response;
      },
      onEvent: e => events.push(e),
      onState: s => states.push(s),
      setTimeout: timers.setTimeout,
      clearTimeout: timers.clearTimeout,
      idleTimeout
    });
    return {
      client,
      timers,
      events,
      states,
      streams,
      opens,
      failOpens: (n: number) => (failOpen = n)
    };
  }

  it('delivers events and reports open once the first arrives', async () => {
    const { client, events, states, streams } = setup();
    client.start();
    await flush();
    expect(states).toEqual(['connecting']);
    streams[0].push('event: snapshot\ndata: {"a":1}\n\n');
    await flush();
    expect(events.map(e => e.event)).toEqual(['snapshot']);
    expect(states).toEqual(['connecting', 'open']);
    client.stop();
  });

  it('reconnects with growing delays while opening fails, then resets after an event', async () => {
    const { client, timers, streams, opens, failOpens } = setup();
    failOpens(2);
    client.start();
    await flush();
    expect(timers.delays()).toEqual([1000]);
    timers.fire(1000);
    await flush();
    expect(timers.delays()).toEqual([2000]);
    timers.fire(2000);
    await flush();
    expect(opens).toHaveLength(3);
    streams[0].push('data: hi\n\n');
    await flush();
    expect(client.attempt).toBe(0);
    streams[0].end();
    await flush();
    expect(timers.delays()).toEqual([1000]);
    client.stop();
    expect(timers.delays()).toEqual([]);
  });

  it('reconnects when the stream errors or the server closes it', async () => {
    const { client, timers, streams, states } = setup();
    client.start();
    await flush();
    streams[0].fail();
    await flush();
    expect(states[states.length - 1]).toBe('closed');
    timers.fire(1000);
    await flush();
    expect(streams).toHaveLength(2);
    client.stop();
  });

  it('follows the retry the server asked for', async () => {
    const { client, timers, streams } = setup();
    client.start();
    await flush();
    streams[0].push('retry: 250\ndata: x\n\n');
    streams[0].end();
    await flush();
    expect(timers.delays()).toEqual([250]);
    client.stop();
  });

  it('treats a silent connection as dead after the idle timeout', async () => {
    const { client, timers, streams, opens } = setup(45000);
    client.start();
    await flush();
    streams[0].push(': keep-alive\n\n');
    await flush();
    expect(timers.delays()).toEqual([45000]);
    timers.fire(45000);
    await flush();
    expect(opens[0].aborted).toBe(true);
    expect(timers.delays()).toEqual([1000]);
    client.stop();
  });

  it('stop aborts the request and schedules nothing; restart opens a new one', async () => {
    const { client, timers, opens } = setup();
    client.start();
    await flush();
    client.restart();
    await flush();
    expect(opens).toHaveLength(2);
    expect(opens[0].aborted).toBe(true);
    expect(timers.delays()).toEqual([]);
    client.stop();
    await flush();
    expect(opens[1].aborted).toBe(true);
    expect(timers.delays()).toEqual([]);
    expect(client.running).toBe(false);
  });

  it('treats an HTTP error status as a failed attempt', async () => {
    const timers = new FakeTimers();
    const states: [StreamState, unknown][] = [];
    const client = new EventStreamClient({
      open: async () => new Response('forbidden', { status: 403 }),
      onEvent: () => undefined,
      onState: (s, e) => states.push([s, e]),
      setTimeout: timers.setTimeout,
      clearTimeout: timers.clearTimeout,
      idleTimeout: 0
    });
    client.start();
    await flush();
    const [state, error] = states[states.length - 1];
    expect(state).toBe('closed');
    expect(String(error)).toContain('403');
    expect(timers.delays()).toEqual([1000]);
    client.stop();
  });
});
