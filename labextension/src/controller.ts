/**
 * The sidebar's state and where it comes from: the plane's status, the namespaces, the snapshot of
 * one namespace — first by `GET objects`, then from the event stream (or a poll when streaming is
 * off in the settings). The widget renders whatever `changed` announces.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { EventStreamClient, IServerEvent, StreamState } from './sse';
import { INamespaceList, IPlaneStatus, ISnapshot } from './types';

/** The part of `KnativeAPI` the controller uses; tests pass a double. */
export interface IKnativeBackend {
  status(): Promise<IPlaneStatus>;
  plane(action: 'start' | 'stop'): Promise<IPlaneStatus>;
  namespaces(): Promise<INamespaceList>;
  objects(namespace: string): Promise<ISnapshot>;
  openStream(namespace: string, signal: AbortSignal): Promise<Response>;
}

export interface IControllerOptions {
  /** The namespace to show first; empty means the backend's own (`status.namespace`). */
  defaultNamespace: string;
  /** Follow the event stream; when false, poll `objects` every `pollInterval` ms instead. */
  stream: boolean;
  pollInterval: number;
}

export interface IKnativeState {
  status: IPlaneStatus | null;
  namespaces: string[];
  namespace: string;
  snapshot: ISnapshot | null;
  connection: StreamState;
  /** The last failure to show, cleared by the next success. */
  error: string | null;
  /** A plane start or stop is in flight. */
  busy: boolean;
}

export class KnativeController {
  constructor(backend: IKnativeBackend, options: IControllerOptions) {
    this._backend = backend;
    this._options = { ...options };
    this._state.namespace = options.defaultNamespace;
    this._stream = new EventStreamClient({
      open: signal => this._backend.openStream(this._state.namespace, signal),
      onEvent: event => this._onEvent(event),
      onState: state => this._update({ connection: state })
    });
  }

  get state(): Readonly<IKnativeState> {
    return this._state;
  }

  get changed(): ISignal<this, IKnativeState> {
    return this._changed;
  }

  get options(): Readonly<IControllerOptions> {
    return this._options;
  }

  /** Read status, namespaces and objects, then follow changes. */
  async start(): Promise<void> {
    this._started = true;
    await this.refresh();
    this._follow();
  }

  dispose(): void {
    this._started = false;
    this._stream.stop();
    this._stopPoll();
    Signal.clearData(this);
  }

  /** Apply new settings: a different mode or default namespace takes effect at once. */
  configure(options: IControllerOptions): void {
    const before = this._options;
    this._options = { ...options };
    if (!this._started) {
      this._state.namespace = options.defaultNamespace || this._state.namespace;
      return;
    }
    if (options.defaultNamespace && options.defaultNamespace !== before.defaultNamespace) {
      void this.selectNamespace(options.defaultNamespace);
    } else if (options.stream !== before.stream || options.pollInterval !== before.pollInterval) {
      this._follow();
    }
  }

  async refresh(): Promise<void> {
    try {
      const status = await this._backend.status();
      const namespace = this._state.namespace || status.namespace || 'default';
      this._update({ status, namespace, error: null });
      await this._loadNamespaces();
      await this._loadObjects();
    } catch (error) {
      this._update({ error: messageOf(error) });
    }
  }

  async selectNamespace(namespace: string): Promise<void> {
    if (namespace === this._state.namespace) {
      return;
    }
    this._update({ namespace, snapshot: null });
    await this._loadObjects();
    if (this._started) {
      this._follow();
    }
  }

  async setPlane(running: boolean): Promise<void> {
    this._update({ busy: true });
    try {
      const status = await this._backend.plane(running ? 'start' : 'stop');
      this._update({ status, error: null });
      await this.refresh();
      if (this._started) {
        this._follow();
      }
    } catch (error) {
      this._update({ error: messageOf(error) });
    } finally {
      this._update({ busy: false });
    }
  }

  private async _loadNamespaces(): Promise<void> {
    try {
      const { items } = await this._backend.namespaces();
      const namespaces = items.includes(this._state.namespace)
        ? items
        : [...items, this._state.namespace];
      this._update({ namespaces: [...namespaces].sort() });
    } catch {
      // a stopped plane lists none: keep the current namespace selectable
      this._update({ namespaces: [this._state.namespace] });
    }
  }

  private async _loadObjects(): Promise<void> {
    const namespace = this._state.namespace;
    try {
      const snapshot = await this._backend.objects(namespace);
      if (namespace === this._state.namespace) {
        this._update({ snapshot, error: null });
      }
    } catch (error) {
      this._update({ error: messageOf(error) });
    }
  }

  /** (Re)start whichever way of following changes the options ask for. */
  private _follow(): void {
    this._stream.stop();
    this._stopPoll();
    if (this._options.stream) {
      this._stream.start();
    } else {
      this._poll = setInterval(
        () => void this._loadObjects(),
        Math.max(1000, this._options.pollInterval)
      );
    }
  }

  private _stopPoll(): void {
    if (this._poll !== null) {
      clearInterval(this._poll);
      this._poll = null;
    }
  }

  private _onEvent(event: IServerEvent): void {
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      return; // not ours to show: a malformed event is skipped, the next snapshot repairs
    }
    if (event.event === 'snapshot') {
      const snapshot = data as ISnapshot;
      if (!snapshot.namespace || snapshot.namespace === this._state.namespace) {
        this._update({ snapshot, error: null });
      }
    } else if (event.event === 'status') {
      const status = data as IPlaneStatus;
      const flipped = this._state.status?.running !== status.running;
      this._update({ status });
      if (flipped) {
        void this._loadNamespaces();
      }
    }
  }

  private _update(patch: Partial<IKnativeState>): void {
    Object.assign(this._state, patch);
    this._changed.emit(this._state);
  }

  private _backend: IKnativeBackend;
  private _options: IControllerOptions;
  private _stream: EventStreamClient;
  private _poll: ReturnType<typeof setInterval> | null = null;
  private _started = false;
  private _state: IKnativeState = {
    status: null,
    namespaces: [],
    namespace: '',
    snapshot: null,
    connection: 'closed',
    error: null,
    busy: false
  };
  private _changed = new Signal<this, IKnativeState>(this);
}

export function messageOf(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  return String(error);
}
