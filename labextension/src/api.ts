/**
 * The one way this extension talks to its server extension: `requestAPI`, through
 * `ServerConnection.makeRequest`, which adds the token and XSRF headers jupyter_server checks.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { INamespaceList, IPlaneStatus, ISnapshot } from './types';
import { apiPath, logsPath, objectPath, objectsPath, streamPath } from './urls';

/** Fetch `{baseUrl}<path>` and return its body: parsed JSON, or text when `as` says so. */
export async function requestAPI<T>(
  path: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings(),
  as: 'json' | 'text' = 'json'
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, path);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const body = await response.text();
  if (!response.ok) {
    throw new ServerConnection.ResponseError(response, errorMessage(body, response));
  }
  if (as === 'text') {
    return body as unknown as T;
  }
  return (body ? JSON.parse(body) : {}) as T;
}

/** The server's `{"message": ...}` when it sent one, else the status line. */
function errorMessage(body: string, response: Response): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown; reason?: unknown };
    if (typeof parsed.message === 'string' && parsed.message) {
      return parsed.message;
    }
  } catch {
    // not JSON: fall through to the status line
  }
  return `${response.status} ${response.statusText}`.trim();
}

/** The server extension's routes, each a thin typed wrapper over `requestAPI`. */
export class KnativeAPI {
  constructor(readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  status(): Promise<IPlaneStatus> {
    return requestAPI<IPlaneStatus>(apiPath('status'), {}, this.settings);
  }

  plane(action: 'start' | 'stop'): Promise<IPlaneStatus> {
    return requestAPI<IPlaneStatus>(
      apiPath('plane'),
      { method: 'POST', body: JSON.stringify({ action }) },
      this.settings
    );
  }

  namespaces(): Promise<INamespaceList> {
    return requestAPI<INamespaceList>(apiPath('namespaces'), {}, this.settings);
  }

  objects(namespace: string): Promise<ISnapshot> {
    return requestAPI<ISnapshot>(objectsPath(namespace), {}, this.settings);
  }

  remove(kind: string, namespace: string, name: string): Promise<unknown> {
    return requestAPI<unknown>(
      objectPath(kind, namespace, name),
      { method: 'DELETE' },
      this.settings
    );
  }

  logs(namespace: string, service: string, tail = 200): Promise<string> {
    return requestAPI<string>(logsPath(namespace, service, tail), {}, this.settings, 'text');
  }

  /** Open the event stream; `EventStreamClient` reads the body. */
  openStream(namespace: string, signal: AbortSignal): Promise<Response> {
    const url = URLExt.join(this.settings.baseUrl, streamPath(namespace));
    return ServerConnection.makeRequest(
      url,
      { signal, cache: 'no-store', headers: { Accept: 'text/event-stream' } },
      this.settings
    );
  }
}
