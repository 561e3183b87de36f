/**
 * The snapshot → tree mapping the sidebar renders: services with their revisions, brokers with their
 * triggers, then sources and builds. Pure, so the jest tests pin it down; the widget only draws it.
 */
import {
  ConditionStatus,
  IBuild,
  IRevision,
  IService,
  ISnapshot,
  ISource,
  ITrigger
} from './types';

/** What a status badge shows: `True` → ready, `False` → failed, anything else → pending. */
export type Badge = 'ready' | 'failed' | 'pending';

export function badgeOf(status: ConditionStatus | string | null | undefined): Badge {
  if (status === 'True') {
    return 'ready';
  }
  if (status === 'False') {
    return 'failed';
  }
  return 'pending';
}

export interface IRevisionNode {
  name: string;
  badge: Badge;
  desired: number | null;
  actual: number | null;
  /** Share of the service's traffic, `null` when the revision takes none. */
  percent: number | null;
  latest: boolean;
  tags: string[];
}

export interface ITagNode {
  tag: string;
  revisionName: string | null;
  url: string | null;
}

export interface IServiceNode {
  name: string;
  url: string | null;
  badge: Badge;
  reason: string | null;
  latestRevision: string | null;
  revisions: IRevisionNode[];
  tags: ITagNode[];
}

export interface IBrokerNode {
  name: string;
  url: string | null;
  badge: Badge;
  triggers: ITriggerNode[];
}

export interface ITriggerNode {
  name: string;
  broker: string;
  subscriber: string | null;
  badge: Badge;
}

export interface ISourceNode {
  kind: string;
  name: string;
  sink: string | null;
  badge: Badge;
}

export interface IBuildNode {
  kind: string;
  name: string;
  badge: Badge;
  reason: string | null;
  started: string | null;
}

export interface ITree {
  namespace: string;
  services: IServiceNode[];
  brokers: IBrokerNode[];
  /** Triggers naming a broker the snapshot does not list (a broker deleted before its triggers). */
  strayTriggers: ITriggerNode[];
  sources: ISourceNode[];
  builds: IBuildNode[];
}

const byName = <T extends { name: string }>(a: T, b: T): number => a.name.localeCompare(b.name);

/** Newest first: by creation time when both have one, else by name (revision names count up). */
function newestFirst(a: IRevision, b: IRevision): number {
  if (a.created && b.created && a.created !== b.created) {
    return a.created < b.created ? 1 : -1;
  }
  return b.name.localeCompare(a.name, undefined, { numeric: true });
}

/** The revision's share: the server's `percent` when given, else the sum of the service's targets. */
function percentOf(revision: IRevision, service: IService): number | null {
  if (revision.percent !== null && revision.percent !== undefined) {
    return revision.percent;
  }
  const targets = service.traffic.filter(
    t => resolveTarget(t.revisionName, service) === revision.name
  );
  const shares = targets.map(t => t.percent ?? 0).filter(p => p > 0);
  return shares.length ? shares.reduce((a, b) => a + b, 0) : null;
}

function resolveTarget(revisionName: string | null, service: IService): string | null {
  return revisionName ?? service.latestRevision;
}

function revisionNode(revision: IRevision, service: IService): IRevisionNode {
  const tags = service.traffic
    .filter(t => t.tag && resolveTarget(t.revisionName, service) === revision.name)
    .map(t => t.tag as string);
  return {
    name: revision.name,
    badge: badgeOf(revision.ready),
    desired: revision.desired ?? null,
    actual: revision.actual ?? null,
    percent: percentOf(revision, service),
    latest: revision.name === service.latestRevision,
    tags
  };
}

export function serviceNode(service: IService, revisions: IRevision[]): IServiceNode {
  const own = revisions.filter(r => r.service === service.name).sort(newestFirst);
  return {
    name: service.name,
    url: service.url ?? null,
    badge: badgeOf(service.ready),
    reason: service.reason ?? null,
    latestRevision: service.latestRevision ?? null,
    revisions: own.map(r => revisionNode(r, service)),
    tags: service.traffic
      .filter(t => t.tag)
      .map(t => ({ tag: t.tag as string, revisionName: t.revisionName, url: t.url ?? null }))
  };
}

function triggerNode(trigger: ITrigger): ITriggerNode {
  return {
    name: trigger.name,
    broker: trigger.broker,
    subscriber: trigger.subscriber ?? null,
    badge: badgeOf(trigger.ready)
  };
}

function sourceNode(source: ISource): ISourceNode {
  return {
    kind: source.kind,
    name: source.name,
    sink: source.sink ?? null,
    badge: badgeOf(source.ready)
  };
}

function buildNode(build: IBuild): IBuildNode {
  return {
    kind: build.kind,
    name: build.name,
    badge: badgeOf(build.succeeded),
    reason: build.reason ?? null,
    started: build.started ?? null
  };
}

function newestStartedFirst(a: IBuildNode, b: IBuildNode): number {
  if (a.started !== b.started) {
    return (b.started ?? '').localeCompare(a.started ?? '');
  }
  return a.name.localeCompare(b.name);
}

/** Tolerates a snapshot with lists missing (an older or partial server answer) as empty lists. */
export function buildTree(snapshot: Partial<ISnapshot> & { namespace: string }): ITree {
  const revisions = snapshot.revisions ?? [];
  const triggers = (snapshot.triggers ?? []).map(triggerNode).sort(byName);
  const brokers = [...(snapshot.brokers ?? [])].sort(byName).map(b => ({
    name: b.name,
    url: b.url ?? null,
    badge: badgeOf(b.ready),
    triggers: triggers.filter(t => t.broker === b.name)
  }));
  const known = new Set(brokers.map(b => b.name));
  return {
    namespace: snapshot.namespace,
    services: [...(snapshot.services ?? [])].sort(byName).map(s => serviceNode(s, revisions)),
    brokers,
    strayTriggers: triggers.filter(t => !known.has(t.broker)),
    sources: (snapshot.sources ?? [])
      .map(sourceNode)
      .sort((a, b) => a.kind.localeCompare(b.kind) || byName(a, b)),
    builds: (snapshot.builds ?? []).map(buildNode).sort(newestStartedFirst)
  };
}

/** A replica count as the sidebar prints it; `–` stands for a count the server does not know. */
export function countText(n: number | null): string {
  return n === null ? '–' : String(n);
}
