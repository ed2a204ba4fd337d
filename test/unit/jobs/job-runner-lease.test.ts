import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { resolveDetectConfig } from '../../../src/detect/detect-config.ts';
import { SqliteEventStore } from '../../../src/events/sqlite-event-store.ts';
import type { ArchiveFragments } from '../../../src/jobs/archive-fragments.ts';
import { JobRunner, type JobRunnerOptions } from '../../../src/jobs/job-runner.ts';
import { SqliteJobStore } from '../../../src/jobs/job-store.ts';
import { until } from '../../support/wait.ts';

/** An empty range: the job needs no detector and succeeds at once, which is all a lease test needs. */
const emptyArchive: ArchiveFragments = { list: async () => [], load: async () => undefined };

function setup() {
  const db = new Database(':memory:');
  const events = new SqliteEventStore(db);
  const store = new SqliteJobStore(db, events);
  const lines: string[] = [];
  let clock = 1_000;
  const runner = (extra: Partial<JobRunnerOptions> = {}) =>
    new JobRunner({
      store, events, archive: emptyArchive, accountId: '1', now: () => clock, onLog: (l) => lines.push(l),
      lookupStream: async (name) => ({ id: 1, name, arn: `arn:${name}` }),
      detector: async () => {
        throw new Error('no detector needed for an empty range');
      },
      ...extra,
    });
  const create = (id: string) => store.create({ id, request: { stream: 'cam', startMs: 0, endMs: 1 }, config: resolveDetectConfig({ enabled: true }), createdAt: clock });
  return { store, lines, runner, create, tick: (ms: number) => (clock += ms) };
}

describe('JobRunner with leases (several nodes on one job store)', () => {
  it('leaves a job leased by another node to it, and takes it over once that lease has expired', async () => {
    const t = setup();
    await t.create('j1');
    expect(await t.store.claim('j1', 'node-b', 1_000, 10_000)).toBe(true);
    const a = t.runner({ lease: { owner: 'node-a', durationMs: 10_000 } });
    await a.start();
    await until(() => t.lines.some((l) => l.includes('j1 is leased by another node')), 'node-a to skip j1');
    expect((await t.store.get('j1'))?.job.status).toBe('queued');
    await a.stop();

    t.tick(20_000); // node-b died: its lease ran out
    const again = t.runner({ lease: { owner: 'node-a', durationMs: 10_000 } });
    await again.start();
    await until(async () => (await t.store.get('j1'))?.job.status === 'succeeded', 'j1 to finish on node-a');
    await again.stop();
  });

  it('without a lease (one node) runs every unfinished job as before', async () => {
    const t = setup();
    await t.create('j2');
    await t.store.claim('j2', 'someone', 1_000, 10_000);
    const r = t.runner();
    await r.start();
    await until(async () => (await t.store.get('j2'))?.job.status === 'succeeded', 'j2 to finish');
    await r.stop();
  });
});
