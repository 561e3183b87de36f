import { badgeOf, buildTree, countText } from '../src/model';
import { broker, build, revision, service, snapshot, source, trigger } from './builders';

describe('badgeOf', () => {
  it.each([
    ['True', 'ready'],
    ['False', 'failed'],
    ['Unknown', 'pending'],
    [null, 'pending'],
    [undefined, 'pending']
  ])('%s → %s', (status, badge) => {
    expect(badgeOf(status)).toBe(badge);
  });
});

describe('buildTree: services and revisions', () => {
  it('puts each revision under its service, newest first, and marks the latest', () => {
    const tree = buildTree(
      snapshot({
        services: [service('hello', { latestRevision: 'hello-00002' })],
        revisions: [
          revision('hello-00001', 'hello', { created: '2024-01-01T00:00:00Z' }),
          revision('hello-00002', 'hello', { created: '2024-01-02T00:00:00Z' }),
          revision('other-00001', 'other')
        ]
      })
    );
    expect(tree.services).toHaveLength(1);
    const revisions = tree.services[0].revisions;
    expect(revisions.map(r => r.name)).toEqual(['hello-00002', 'hello-00001']);
    expect(revisions.map(r => r.latest)).toEqual([true, false]);
  });

  it('orders revisions by name numerically when creation times are missing', () => {
    const tree = buildTree(
      snapshot({
        services: [service('s')],
        revisions: ['s-00009', 's-00010', 's-00002'].map(n => revision(n, 's'))
      })
    );
    expect(tree.services[0].revisions.map(r => r.name)).toEqual(['s-00010', 's-00009', 's-00002']);
  });

  it('sorts services by name and keeps their status, URL and reason', () => {
    const tree = buildTree(
      snapshot({
        services: [
          service('zeta'),
          service('alpha', { ready: 'False', reason: 'RevisionFailed', url: null })
        ]
      })
    );
    expect(tree.services.map(s => s.name)).toEqual(['alpha', 'zeta']);
    expect(tree.services[0]).toMatchObject({
      badge: 'failed',
      reason: 'RevisionFailed',
      url: null
    });
    expect(tree.services[1]).toMatchObject({
      badge: 'ready',
      url: 'http://zeta.default.example.com'
    });
  });

  it.each([
    {
      id: 'server percent wins',
      percent: 30,
      traffic: [{ revisionName: 'a-1', percent: 90, tag: null, url: null }],
      expected: 30
    },
    {
      id: 'sum of the targets naming the revision',
      percent: null,
      traffic: [
        { revisionName: 'a-1', percent: 40, tag: null, url: null },
        { revisionName: 'a-1', percent: 20, tag: 'blue', url: null },
        { revisionName: 'a-2', percent: 40, tag: null, url: null }
      ],
      expected: 60
    },
    {
      id: 'a target without revisionName follows the latest',
      percent: null,
      traffic: [{ revisionName: null, percent: 100, tag: null, url: null }],
      expected: 100
    },
    {
      id: 'no traffic is null, not 0',
      percent: null,
      traffic: [{ revisionName: 'a-2', percent: 100, tag: null, url: null }],
      expected: null
    }
  ])('traffic share: $id', ({ percent, traffic, expected }) => {
    const tree = buildTree(
      snapshot({
        services: [service('a', { latestRevision: 'a-1', traffic })],
        revisions: [revision('a-1', 'a', { percent })]
      })
    );
    expect(tree.services[0].revisions[0].percent).toBe(expected);
  });

  it('collects tags on the service and on the revision they route to', () => {
    const tree = buildTree(
      snapshot({
        services: [
          service('a', {
            latestRevision: 'a-2',
            traffic: [
              { revisionName: 'a-1', percent: 0, tag: 'blue', url: 'http://blue-a.default' },
              { revisionName: 'a-2', percent: 100, tag: null, url: null },
              { revisionName: null, percent: 0, tag: 'latest', url: null }
            ]
          })
        ],
        revisions: [revision('a-1', 'a'), revision('a-2', 'a')]
      })
    );
    const [svc] = tree.services;
    expect(svc.tags.map(t => t.tag)).toEqual(['blue', 'latest']);
    const tags = Object.fromEntries(svc.revisions.map(r => [r.name, r.tags]));
    expect(tags).toEqual({ 'a-1': ['blue'], 'a-2': ['latest'] });
  });

  it('keeps replica counts, unknown ones as null', () => {
    const tree = buildTree(
      snapshot({
        services: [service('a')],
        revisions: [revision('a-00001', 'a', { desired: 3, actual: null })]
      })
    );
    expect(tree.services[0].revisions[0]).toMatchObject({ desired: 3, actual: null });
  });
});

describe('buildTree: eventing and builds', () => {
  it('nests triggers under their broker and keeps strays apart', () => {
    const tree = buildTree(
      snapshot({
        brokers: [broker('default', { ready: 'Unknown' })],
        triggers: [
          trigger('t2', 'default', { subscriber: 'http://hello.default' }),
          trigger('t1', 'default'),
          trigger('orphan', 'gone')
        ]
      })
    );
    expect(tree.brokers).toHaveLength(1);
    expect(tree.brokers[0].badge).toBe('pending');
    expect(tree.brokers[0].triggers.map(t => t.name)).toEqual(['t1', 't2']);
    expect(tree.brokers[0].triggers[1].subscriber).toBe('http://hello.default');
    expect(tree.strayTriggers.map(t => t.name)).toEqual(['orphan']);
  });

  it('sorts sources by kind then name', () => {
    const tree = buildTree(
      snapshot({
        sources: [
          source('PingSource', 'b'),
          source('ApiServerSource', 'z'),
          source('PingSource', 'a', { ready: 'False' })
        ]
      })
    );
    expect(tree.sources.map(s => `${s.kind}/${s.name}/${s.badge}`)).toEqual([
      'ApiServerSource/z/ready',
      'PingSource/a/failed',
      'PingSource/b/ready'
    ]);
  });

  it('lists builds newest first with their outcome', () => {
    const tree = buildTree(
      snapshot({
        builds: [
          build('TaskRun', 'old', { started: '2024-01-01T00:00:00Z' }),
          build('PipelineRun', 'new', { started: '2024-02-01T00:00:00Z', succeeded: 'Unknown' }),
          build('Build', 'failed', {
            started: '2024-01-15T00:00:00Z',
            succeeded: 'False',
            reason: 'StepFailed'
          })
        ]
      })
    );
    expect(tree.builds.map(b => [b.name, b.badge])).toEqual([
      ['new', 'pending'],
      ['failed', 'failed'],
      ['old', 'ready']
    ]);
    expect(tree.builds[1].reason).toBe('StepFailed');
  });

  it('reads a snapshot with lists missing as empty', () => {
    const tree = buildTree({ namespace: 'ns' });
    expect(tree).toEqual({
      namespace: 'ns',
      services: [],
      brokers: [],
      strayTriggers: [],
      sources: [],
      builds: []
    });
  });
});

describe('countText', () => {
  it('prints counts and a dash for unknown', () => {
    expect([countText(0), countText(3), countText(null)]).toEqual(['0', '3', '–']);
  });
});
