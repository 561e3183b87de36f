/** Small builders for contract objects, so each test states only what it is about. */
import { IBroker, IBuild, IRevision, IService, ISnapshot, ISource, ITrigger } from '../src/types';

export function service(name: string, over: Partial<IService> = {}): IService {
  return {
    name,
    url: `http://${name}.default.example.com`,
    ready: 'True',
    reason: null,
    latestRevision: `${name}-00001`,
    traffic: [{ revisionName: `${name}-00001`, percent: 100, tag: null, url: null }],
    ...over
  };
}

export function revision(
  name: string,
  serviceName: string,
  over: Partial<IRevision> = {}
): IRevision {
  return {
    name,
    service: serviceName,
    ready: 'True',
    desired: 1,
    actual: 1,
    percent: null,
    created: null,
    ...over
  };
}

export function broker(name: string, over: Partial<IBroker> = {}): IBroker {
  return { name, url: `http://broker-ingress/${name}`, ready: 'True', ...over };
}

export function trigger(name: string, brokerName: string, over: Partial<ITrigger> = {}): ITrigger {
  return { name, broker: brokerName, subscriber: null, ready: 'True', ...over };
}

export function source(kind: string, name: string, over: Partial<ISource> = {}): ISource {
  return { kind, name, sink: null, ready: 'True', ...over };
}

export function build(kind: IBuild['kind'], name: string, over: Partial<IBuild> = {}): IBuild {
  return { kind, name, succeeded: 'True', reason: null, started: null, ...over };
}

export function snapshot(over: Partial<ISnapshot> = {}): ISnapshot {
  return {
    namespace: 'default',
    services: [],
    revisions: [],
    brokers: [],
    triggers: [],
    sources: [],
    builds: [],
    ...over
  };
}
