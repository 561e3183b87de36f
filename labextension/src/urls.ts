/**
 * Pure URL building for the server extension's routes. No JupyterLab imports, so jest runs it as is;
 * `baseUrl` is `ServerConnection.ISettings.baseUrl` (it ends with `/`, and under JupyterHub it is
 * `/user/NAME/`).
 */

const seg = encodeURIComponent;

/** Join a base URL and a relative path with exactly one `/` between them. */
export function joinUrl(base: string, path: string): string {
  if (!base) {
    return path;
  }
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

function query(params: Record<string, string | number | null | undefined>): string {
  const pairs = Object.entries(params).filter(
    (entry): entry is [string, string | number] =>
      entry[1] !== null && entry[1] !== undefined && entry[1] !== ''
  );
  if (pairs.length === 0) {
    return '';
  }
  return '?' + pairs.map(([k, v]) => `${seg(k)}=${seg(String(v))}`).join('&');
}

/** `knative/api/<endpoint>`: the path that `requestAPI` joins to the base URL. */
export function apiPath(endpoint: string): string {
  return joinUrl('knative/api', endpoint);
}

export function objectsPath(namespace: string): string {
  return apiPath('objects') + query({ namespace });
}

export function streamPath(namespace: string): string {
  return apiPath('stream') + query({ namespace });
}

/**
 * The absolute stream URL for an `EventSource`, which cannot send headers: the token, when the
 * server was given one, travels as `?token=` (jupyter_server accepts it there).
 */
export function streamUrl(baseUrl: string, namespace: string, token?: string | null): string {
  return joinUrl(baseUrl, apiPath('stream') + query({ namespace, token: token || null }));
}

/** Plural resource names the DELETE route takes, from the kinds the snapshot reports. */
const PLURALS: Record<string, string> = {
  Service: 'services',
  Revision: 'revisions',
  Broker: 'brokers',
  Trigger: 'triggers',
  Build: 'builds',
  TaskRun: 'taskruns',
  PipelineRun: 'pipelineruns'
};

/** `PingSource` → `pingsources`; the kinds of the contract map through `PLURALS`. */
export function pluralKind(kind: string): string {
  return PLURALS[kind] ?? `${kind.toLowerCase()}s`;
}

export function objectPath(kind: string, namespace: string, name: string): string {
  return apiPath(`objects/${seg(pluralKind(kind))}/${seg(namespace)}/${seg(name)}`);
}

export function logsPath(namespace: string, service: string, tail?: number): string {
  return apiPath(`logs/${seg(namespace)}/${seg(service)}`) + query({ tail: tail ?? null });
}

/**
 * The proxy URL of a service (or of a tag route, `name` = `TAG-SERVICE`): the browser reaches the
 * plane's ingress through the Jupyter server, which matters on Binder where loopback ports are not
 * the browser's.
 */
export function proxyUrl(baseUrl: string, namespace: string, name: string, path = ''): string {
  const rest = path.replace(/^\/+/, '');
  return joinUrl(baseUrl, `knative/proxy/${seg(namespace)}/${seg(name)}/${rest}`);
}
