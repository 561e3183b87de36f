/**
 * The REST contract of the server extension (`{baseUrl}knative/api/...`), as the sidebar reads it.
 * Field names are the server's; see notes/lab_plan.md.
 */

/** A Kubernetes condition status as the server reports it. */
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface IPlaneStatus {
  backend: 'embedded' | 'kubernetes';
  running: boolean;
  api: string | null;
  ingress: string | null;
  namespace: string;
  version: string;
}

export interface ITrafficTarget {
  revisionName: string | null;
  percent: number | null;
  tag: string | null;
  url: string | null;
}

export interface IService {
  name: string;
  url: string | null;
  ready: ConditionStatus;
  reason: string | null;
  latestRevision: string | null;
  traffic: ITrafficTarget[];
}

export interface IRevision {
  name: string;
  service: string | null;
  ready: ConditionStatus;
  desired: number | null;
  actual: number | null;
  percent: number | null;
  created: string | null;
}

export interface IBroker {
  name: string;
  url: string | null;
  ready: ConditionStatus;
}

export interface ITrigger {
  name: string;
  broker: string;
  subscriber: string | null;
  ready: ConditionStatus;
}

export interface ISource {
  kind: string;
  name: string;
  sink: string | null;
  ready: ConditionStatus;
}

export interface IBuild {
  kind: 'Build' | 'TaskRun' | 'PipelineRun';
  name: string;
  succeeded: ConditionStatus;
  reason: string | null;
  started: string | null;
}

export interface ISnapshot {
  namespace: string;
  services: IService[];
  revisions: IRevision[];
  brokers: IBroker[];
  triggers: ITrigger[];
  sources: ISource[];
  builds: IBuild[];
}

export interface INamespaceList {
  items: string[];
}
