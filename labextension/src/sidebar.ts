/**
 * The Knative sidebar: plane indicator and start/stop, namespace picker, then the tree of
 * `buildTree(snapshot)`. Plain DOM, re-drawn from the controller's state; the `data-knative-*`
 * attributes and `jp-knative-*` classes are the hooks the browser tests find things by.
 */
import { Widget } from '@lumino/widgets';

import { IKnativeState, KnativeController } from './controller';
import { knativeIcon } from './icons';
import {
  Badge,
  buildTree,
  countText,
  IBrokerNode,
  IBuildNode,
  IRevisionNode,
  IServiceNode,
  ISourceNode,
  ITree,
  ITriggerNode
} from './model';

/** What the rows' buttons do; the plugin wires them to commands. */
export interface ISidebarActions {
  openUrl(namespace: string, service: string): void;
  openDashboard(namespace: string, service: string): void;
  showLogs(namespace: string, service: string): void;
  remove(namespace: string, kind: string, name: string): void;
}

type Attrs = Record<string, string | number | boolean | null | undefined>;

/** `h('span', {class: 'x', 'data-y': 1}, 'text', child)`: a small element builder. */
function h(tag: string, attrs: Attrs = {}, ...children: (Node | string | null)[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined && value !== false) {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  for (const child of children) {
    if (child !== null) {
      el.append(child);
    }
  }
  return el;
}

function badge(status: Badge, title?: string | null): HTMLElement {
  return h('span', {
    class: `jp-knative-badge jp-knative-badge-${status}`,
    'data-status': status,
    title: title || status
  });
}

export class KnativeSidebar extends Widget {
  constructor(controller: KnativeController, actions: ISidebarActions) {
    super();
    this._controller = controller;
    this._actions = actions;
    this.id = 'jp-knative-sidebar';
    this.addClass('jp-knative-sidebar');
    this.title.icon = knativeIcon;
    this.title.caption = 'Knative';
    this.node.dataset.knativeSidebar = '';
    this._buildHeader();
    this._tree = h('div', { class: 'jp-knative-tree' });
    this.node.append(this._tree);
    controller.changed.connect(this._render, this);
    this._render();
  }

  override dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._controller.changed.disconnect(this._render, this);
    super.dispose();
  }

  private _buildHeader(): void {
    this._indicator = h('span', { class: 'jp-knative-plane-indicator', 'data-running': 'false' });
    this._planeButton = h('button', {
      class: 'jp-knative-plane-toggle jp-mod-styled',
      type: 'button'
    });
    this._planeButton.addEventListener('click', () => {
      const running = this._controller.state.status?.running ?? false;
      void this._controller.setPlane(!running);
    });
    const refresh = h(
      'button',
      {
        class: 'jp-knative-refresh jp-mod-styled',
        type: 'button',
        title: 'Refresh',
        'data-knative-action': 'refresh'
      },
      'Refresh'
    );
    refresh.addEventListener('click', () => void this._controller.refresh());
    this._select = h('select', {
      class: 'jp-knative-namespace-select',
      'aria-label': 'Namespace'
    }) as HTMLSelectElement;
    this._select.addEventListener(
      'change',
      () => void this._controller.selectNamespace(this._select.value)
    );
    this._connection = h('span', { class: 'jp-knative-connection', 'data-state': 'closed' });
    this._error = h('div', { class: 'jp-knative-error', role: 'alert' });
    this.node.append(
      h(
        'div',
        { class: 'jp-knative-header' },
        h('h2', { class: 'jp-knative-title' }, 'Knative'),
        this._indicator
      ),
      h('div', { class: 'jp-knative-toolbar' }, this._planeButton, refresh),
      h(
        'div',
        { class: 'jp-knative-namespace' },
        h('label', {}, 'Namespace '),
        this._select,
        this._connection
      ),
      this._error
    );
  }

  private _render(): void {
    const state = this._controller.state;
    this._renderHeader(state);
    const tree = state.snapshot ? buildTree(state.snapshot) : null;
    this._tree.replaceChildren(
      ...(tree ? this._renderTree(tree) : [h('p', { class: 'jp-knative-empty' }, 'Loading…')])
    );
  }

  private _renderHeader(state: IKnativeState): void {
    const running = state.status?.running ?? false;
    const backend = state.status?.backend ?? 'unknown';
    this._indicator.dataset.running = String(running);
    this._indicator.dataset.backend = backend;
    this._indicator.textContent = state.status ? (running ? 'running' : 'stopped') : '…';
    this._indicator.title = `${backend} plane ${running ? 'running' : 'stopped'}`;
    this._planeButton.textContent = running ? 'Stop' : 'Start';
    this._planeButton.dataset.knativeAction = running ? 'plane-stop' : 'plane-start';
    // a cluster backend is not ours to start or stop
    (this._planeButton as HTMLButtonElement).disabled =
      state.busy || backend === 'kubernetes' || !state.status;
    this._connection.dataset.state = state.connection;
    this._connection.title = `live updates: ${state.connection}`;
    this._error.textContent = state.error ?? '';
    this._error.hidden = !state.error;
    const options = state.namespaces.length ? state.namespaces : [state.namespace];
    const current = Array.from(this._select.options).map(o => o.value);
    if (current.join('\n') !== options.join('\n')) {
      this._select.replaceChildren(...options.map(ns => h('option', { value: ns }, ns)));
    }
    this._select.value = state.namespace;
  }

  private _renderTree(tree: ITree): HTMLElement[] {
    const ns = tree.namespace;
    const sections = [
      this._section(
        'services',
        'Services',
        tree.services.map(s => this._service(ns, s))
      ),
      this._section('brokers', 'Brokers', [
        ...tree.brokers.map(b => this._broker(b)),
        ...tree.strayTriggers.map(t => this._trigger(t))
      ]),
      this._section(
        'sources',
        'Sources',
        tree.sources.map(s => this._source(s))
      ),
      this._section(
        'builds',
        'Builds',
        tree.builds.map(b => this._build(b))
      )
    ];
    return sections;
  }

  private _section(key: string, title: string, items: HTMLElement[]): HTMLElement {
    const collapsed = this._collapsed.has(`section:${key}`);
    const heading = h('h3', { class: 'jp-knative-section-title' }, `${title} (${items.length})`);
    heading.addEventListener('click', () => this._toggle(`section:${key}`));
    const body = items.length
      ? h('ul', { class: 'jp-knative-list' }, ...items)
      : h('p', { class: 'jp-knative-empty' }, `No ${title.toLowerCase()}`);
    body.hidden = collapsed;
    return h(
      'section',
      {
        class: 'jp-knative-section',
        'data-knative-section': key,
        'data-collapsed': String(collapsed)
      },
      heading,
      body
    );
  }

  private _service(ns: string, s: IServiceNode): HTMLElement {
    const key = `service:${s.name}`;
    const collapsed = this._collapsed.has(key);
    const caret = h('span', { class: 'jp-knative-caret', 'data-collapsed': String(collapsed) });
    caret.addEventListener('click', () => this._toggle(key));
    const link = s.url
      ? h(
          'a',
          {
            class: 'jp-knative-url',
            href: '#',
            title: `${s.url} (through the Jupyter server's proxy)`
          },
          s.url
        )
      : null;
    link?.addEventListener('click', event => {
      event.preventDefault();
      this._actions.openUrl(ns, s.name);
    });
    const row = h(
      'div',
      { class: 'jp-knative-row' },
      caret,
      badge(s.badge, s.reason),
      h('span', { class: 'jp-knative-name', title: s.name }, s.name)
    );
    const details = h(
      'div',
      { class: 'jp-knative-details' },
      link,
      s.latestRevision
        ? h(
            'span',
            { class: 'jp-knative-latest', 'data-revision': s.latestRevision },
            `latest: ${s.latestRevision}`
          )
        : null,
      ...s.tags.map(t =>
        h(
          'span',
          { class: 'jp-knative-tag', 'data-tag': t.tag },
          `${t.tag} → ${t.revisionName ?? 'latest'}`
        )
      )
    );
    const revisions = h(
      'ul',
      { class: 'jp-knative-revisions' },
      ...s.revisions.map(r => this._revision(r))
    );
    revisions.hidden = collapsed;
    return h(
      'li',
      {
        class: 'jp-knative-service',
        'data-knative-service': s.name,
        'data-ready': s.badge,
        'data-url': s.url
      },
      row,
      details,
      this._buttons(ns, s.name),
      revisions
    );
  }

  private _buttons(ns: string, name: string): HTMLElement {
    const button = (action: string, label: string, title: string, run: () => void): HTMLElement => {
      const el = h(
        'button',
        { class: 'jp-knative-action', type: 'button', title, 'data-knative-action': action },
        label
      );
      el.addEventListener('click', event => {
        event.stopPropagation();
        run();
      });
      return el;
    };
    return h(
      'span',
      { class: 'jp-knative-actions' },
      button('open', 'Open', 'Open the service through the proxy in a new tab', () =>
        this._actions.openUrl(ns, name)
      ),
      button('dashboard', 'Dashboard', 'Open the dashboard in a notebook', () =>
        this._actions.openDashboard(ns, name)
      ),
      button('logs', 'Logs', 'Show the logs', () => this._actions.showLogs(ns, name)),
      button('delete', 'Delete', 'Delete the service', () =>
        this._actions.remove(ns, 'Service', name)
      )
    );
  }

  private _revision(r: IRevisionNode): HTMLElement {
    return h(
      'li',
      {
        class: 'jp-knative-revision' + (r.latest ? ' jp-mod-latest' : ''),
        'data-knative-revision': r.name,
        'data-ready': r.badge,
        'data-desired': r.desired,
        'data-actual': r.actual,
        'data-percent': r.percent
      },
      badge(r.badge),
      h('span', { class: 'jp-knative-name' }, r.name),
      h(
        'span',
        { class: 'jp-knative-scale', title: 'replicas: actual/desired' },
        h('span', { class: 'jp-knative-replicas' }, countText(r.actual)),
        h('span', { class: 'jp-knative-replicas-desired' }, `/${countText(r.desired)}`)
      ),
      h(
        'span',
        { class: 'jp-knative-traffic', title: 'share of traffic' },
        r.percent === null ? '' : `${r.percent}%`
      ),
      ...r.tags.map(t => h('span', { class: 'jp-knative-tag', 'data-tag': t }, t))
    );
  }

  private _broker(b: IBrokerNode): HTMLElement {
    return h(
      'li',
      { class: 'jp-knative-broker', 'data-knative-broker': b.name, 'data-ready': b.badge },
      h(
        'div',
        { class: 'jp-knative-row' },
        badge(b.badge),
        h('span', { class: 'jp-knative-name' }, b.name)
      ),
      h('ul', { class: 'jp-knative-triggers' }, ...b.triggers.map(t => this._trigger(t)))
    );
  }

  private _trigger(t: ITriggerNode): HTMLElement {
    return h(
      'li',
      {
        class: 'jp-knative-trigger',
        'data-knative-trigger': t.name,
        'data-broker': t.broker,
        'data-ready': t.badge
      },
      badge(t.badge),
      h('span', { class: 'jp-knative-name' }, t.name),
      t.subscriber
        ? h('span', { class: 'jp-knative-target', title: 'subscriber' }, `→ ${t.subscriber}`)
        : null
    );
  }

  private _source(s: ISourceNode): HTMLElement {
    return h(
      'li',
      {
        class: 'jp-knative-source',
        'data-knative-source': s.name,
        'data-kind': s.kind,
        'data-ready': s.badge
      },
      badge(s.badge),
      h('span', { class: 'jp-knative-kind' }, s.kind),
      h('span', { class: 'jp-knative-name' }, s.name),
      s.sink ? h('span', { class: 'jp-knative-target', title: 'sink' }, `→ ${s.sink}`) : null
    );
  }

  private _build(b: IBuildNode): HTMLElement {
    return h(
      'li',
      {
        class: 'jp-knative-build',
        'data-knative-build': b.name,
        'data-kind': b.kind,
        'data-ready': b.badge
      },
      badge(b.badge, b.reason),
      h('span', { class: 'jp-knative-kind' }, b.kind),
      h('span', { class: 'jp-knative-name' }, b.name),
      b.reason ? h('span', { class: 'jp-knative-reason' }, b.reason) : null
    );
  }

  private _toggle(key: string): void {
    if (!this._collapsed.delete(key)) {
      this._collapsed.add(key);
    }
    this._render();
  }

  private _controller: KnativeController;
  private _actions: ISidebarActions;
  private _tree: HTMLElement;
  private _indicator!: HTMLElement;
  private _planeButton!: HTMLElement;
  private _select!: HTMLSelectElement;
  private _connection!: HTMLElement;
  private _error!: HTMLElement;
  private _collapsed = new Set<string>();
}
