/** A main-area panel with a service's logs (`GET knative/api/logs/NS/NAME?tail=N`). */
import { MainAreaWidget } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { messageOf } from './controller';
import { knativeIcon } from './icons';

export class LogsView extends Widget {
  constructor(fetchLogs: () => Promise<string>, namespace: string, service: string) {
    super();
    this._fetch = fetchLogs;
    this.addClass('jp-knative-logs');
    this.node.dataset.knativeLogs = service;
    this.node.dataset.namespace = namespace;
    const refresh = document.createElement('button');
    refresh.className = 'jp-mod-styled jp-knative-logs-refresh';
    refresh.textContent = 'Refresh';
    refresh.addEventListener('click', () => void this.load());
    this._pre = document.createElement('pre');
    this._pre.className = 'jp-knative-logs-text';
    this.node.append(refresh, this._pre);
  }

  async load(): Promise<void> {
    this.node.dataset.state = 'loading';
    try {
      const text = await this._fetch();
      this._pre.textContent = text || '(no log lines yet)';
      this.node.dataset.state = 'loaded';
    } catch (error) {
      this._pre.textContent = `Could not read the logs: ${messageOf(error)}`;
      this.node.dataset.state = 'error';
    }
  }

  private _fetch: () => Promise<string>;
  private _pre: HTMLPreElement;
}

export function logsPanel(
  fetchLogs: () => Promise<string>,
  namespace: string,
  service: string
): MainAreaWidget<LogsView> {
  const content = new LogsView(fetchLogs, namespace, service);
  const panel = new MainAreaWidget({ content });
  panel.id = `jp-knative-logs-${namespace}-${service}`;
  panel.title.label = `Logs: ${service}`;
  panel.title.icon = knativeIcon;
  panel.title.closable = true;
  void content.load();
  return panel;
}
