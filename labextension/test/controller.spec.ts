import { IKnativeBackend, KnativeController } from '../src/controller';
import { IPlaneStatus, ISnapshot } from '../src/types';
import { service, snapshot } from './builders';

function status(over: Partial<IPlaneStatus> = {}): IPlaneStatus {
  return {
    backend: 'embedded',
    running: true,
    api: null,
    ingress: null,
    namespace: 'default',
    version: '0',
    ...over
  };
}

/** A backend double: objects per namespace, a plane switch, a stream the test writes events to. */
class FakeBackend implements IKnativeBackend {
  plane_ = status();
  objectsByNs: Record<string, ISnapshot> = {
    default: snapshot(),
    team: snapshot({ namespace: 'team' })
  };
  streams: { namespace: string; push: (text: string) => void }[] = [];
  calls: string[] = [];

  async status() {
    return this.plane_;
  }
  async plane(action: 'start' | 'stop') {
    this.calls.push(`plane ${action}`);
    this.plane_ = { ...this.plane_, running: action === 'start' };
    return this.plane_;
  }
  async namespaces() {
    return { items: Object.keys(this.objectsByNs) };
  }
  async objects(namespace: string) {
    this.calls.push(`objects ${namespace}`);
    const found = this.objectsByNs[namespace];
    if (!found) {
      throw new Error(`no namespace ${namespace}`);
    }
    return found;
  }
  async openStream(namespace: string) {
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: c => void (controller = c) });
    this.streams.push({
      namespace,
      push: text => controller.enqueue(new TextEncoder().encode(text))
    });
    return new Response(body);
  }
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) {
    await new Promise(resolve => setTimeout(resolve, 0));
  }
};

describe('KnativeController', () => {
  let controller: KnativeController;
  afterEach(() => controller.dispose());

  it('starts from the status namespace, loads objects, then follows the stream', async () => {
    const backend = new FakeBackend();
    controller = new KnativeController(backend, {
      defaultNamespace: '',
      stream: true,
      pollInterval: 5000
    });
    await controller.start();
    await flush();
    expect(controller.state.namespace).toBe('default');
    expect(controller.state.namespaces).toEqual(['default', 'team']);
    expect(backend.streams.map(s => s.namespace)).toEqual(['default']);
    const next = snapshot({ services: [service('hello')] });
    backend.streams[0].push(`event: snapshot\ndata: ${JSON.stringify(next)}\n\n`);
    await flush();
    expect(controller.state.snapshot?.services.map(s => s.name)).toEqual(['hello']);
    expect(controller.state.connection).toBe('open');
  });

  it('switching namespace reloads objects and reopens the stream for it', async () => {
    const backend = new FakeBackend();
    controller = new KnativeController(backend, {
      defaultNamespace: 'default',
      stream: true,
      pollInterval: 5000
    });
    await controller.start();
    await controller.selectNamespace('team');
    await flush();
    expect(controller.state.snapshot?.namespace).toBe('team');
    expect(backend.streams.map(s => s.namespace)).toEqual(['default', 'team']);
    // the old connection is closed, and a snapshot of another namespace does not overwrite this one
    expect(() => backend.streams[0].push(': late\n\n')).toThrow();
    backend.streams[1].push(`event: snapshot\ndata: ${JSON.stringify(snapshot())}\n\n`);
    await flush();
    expect(controller.state.snapshot?.namespace).toBe('team');
  });

  it('status events flip the plane indicator', async () => {
    const backend = new FakeBackend();
    controller = new KnativeController(backend, {
      defaultNamespace: '',
      stream: true,
      pollInterval: 5000
    });
    await controller.start();
    await flush();
    backend.streams[0].push(
      `event: status\ndata: ${JSON.stringify(status({ running: false }))}\n\n`
    );
    await flush();
    expect(controller.state.status?.running).toBe(false);
  });

  it('setPlane posts the action and keeps the answer', async () => {
    const backend = new FakeBackend();
    backend.plane_ = status({ running: false });
    controller = new KnativeController(backend, {
      defaultNamespace: '',
      stream: false,
      pollInterval: 60000
    });
    await controller.start();
    await controller.setPlane(true);
    expect(backend.calls).toContain('plane start');
    expect(controller.state.status?.running).toBe(true);
    expect(controller.state.busy).toBe(false);
  });

  it('shows a failure as the error and clears it on the next success', async () => {
    const backend = new FakeBackend();
    controller = new KnativeController(backend, {
      defaultNamespace: 'missing',
      stream: false,
      pollInterval: 60000
    });
    await controller.start();
    expect(controller.state.error).toBe('no namespace missing');
    expect(controller.state.namespaces).toContain('missing');
    await controller.selectNamespace('default');
    expect(controller.state.error).toBeNull();
  });

  it('skips a malformed event', async () => {
    const backend = new FakeBackend();
    controller = new KnativeController(backend, {
      defaultNamespace: '',
      stream: true,
      pollInterval: 5000
    });
    await controller.start();
    await flush();
    const before = controller.state.snapshot;
    backend.streams[0].push('event: snapshot\ndata: {not json\n\n');
    await flush();
    expect(controller.state.snapshot).toBe(before);
  });
});
