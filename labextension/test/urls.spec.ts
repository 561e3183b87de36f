import {
  joinUrl,
  logsPath,
  objectPath,
  objectsPath,
  pluralKind,
  proxyUrl,
  streamPath,
  streamUrl
} from '../src/urls';

describe('joinUrl', () => {
  it.each([
    ['http://h/', 'a/b', 'http://h/a/b'],
    ['http://h', '/a/b', 'http://h/a/b'],
    ['/user/ann/', 'knative/api', '/user/ann/knative/api'],
    ['', 'a', 'a']
  ])('%s + %s', (base, path, expected) => {
    expect(joinUrl(base, path)).toBe(expected);
  });
});

describe('proxyUrl', () => {
  it.each([
    {
      id: 'root',
      base: 'http://localhost:8888/',
      path: '',
      expected: 'http://localhost:8888/knative/proxy/default/hello/'
    },
    {
      id: 'JupyterHub base URL and a path',
      base: 'https://hub.example/user/ann/',
      path: '/api/v1?x=1',
      expected: 'https://hub.example/user/ann/knative/proxy/default/hello/api/v1?x=1'
    }
  ])('$id', ({ base, path, expected }) => {
    expect(proxyUrl(base, 'default', 'hello', path)).toBe(expected);
  });

  it('names a tag route TAG-SERVICE', () => {
    expect(proxyUrl('/', 'ns', 'blue-hello')).toBe('/knative/proxy/ns/blue-hello/');
  });

  it('encodes path segments', () => {
    expect(proxyUrl('/', 'a b', 'c/d')).toBe('/knative/proxy/a%20b/c%2Fd/');
  });
});

describe('stream URLs', () => {
  it('carries the namespace', () => {
    expect(streamPath('team-a')).toBe('knative/api/stream?namespace=team-a');
  });

  it('adds the token for EventSource only when there is one', () => {
    expect(streamUrl('http://h/base/', 'default', 'abc')).toBe(
      'http://h/base/knative/api/stream?namespace=default&token=abc'
    );
    expect(streamUrl('http://h/base/', 'default', '')).toBe(
      'http://h/base/knative/api/stream?namespace=default'
    );
    expect(streamUrl('http://h/base/', 'default')).toBe(
      'http://h/base/knative/api/stream?namespace=default'
    );
  });
});

describe('object routes', () => {
  it.each([
    ['Service', 'services'],
    ['Broker', 'brokers'],
    ['Trigger', 'triggers'],
    ['PingSource', 'pingsources'],
    ['ApiServerSource', 'apiserversources'],
    ['TaskRun', 'taskruns'],
    ['PipelineRun', 'pipelineruns']
  ])('%s → %s', (kind, plural) => {
    expect(pluralKind(kind)).toBe(plural);
  });

  it('builds DELETE, objects and logs paths', () => {
    expect(objectPath('Service', 'default', 'hello')).toBe(
      'knative/api/objects/services/default/hello'
    );
    expect(objectsPath('default')).toBe('knative/api/objects?namespace=default');
    expect(logsPath('default', 'hello', 50)).toBe('knative/api/logs/default/hello?tail=50');
    expect(logsPath('default', 'hello')).toBe('knative/api/logs/default/hello');
  });
});
