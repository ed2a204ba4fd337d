import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { mergeDetectConfig, resolveDetectConfig } from '../../../src/detect/detect-config.ts';
import { DetectConfigFile, fileLayers, globToRegExp, parseDetectConfigFile } from '../../../src/detect/detect-config-file.ts';
import { DetectConfigResolver } from '../../../src/detect/detect-config-resolver.ts';
import { DetectConfigError, DetectConfigService } from '../../../src/detect/detect-config-service.ts';
import { MemoryDetectConfigStore, SqliteDetectConfigStore } from '../../../src/detect/detect-config-store.ts';

describe('resolveDetectConfig (API input)', () => {
  it('rejects wrong types with a message naming the option', () => {
    expect(() => resolveDetectConfig({ enabled: 'yes' } as never)).toThrow(/enabled must be true or false/);
    expect(() => resolveDetectConfig({ scoreThreshold: '0.5' } as never)).toThrow(/scoreThreshold/);
    expect(() => resolveDetectConfig({ labels: 'person' } as never)).toThrow(/labels/);
    expect(() => resolveDetectConfig({ zones: 'door' } as never)).toThrow(/zones must be an array/);
    expect(() => resolveDetectConfig({ zones: [{ name: 'a', points: [[0, 0], [1, 0], ['x', 1]] }] } as never)).toThrow(/\[x, y\] pairs/);
    expect(() => resolveDetectConfig({ motion: { speed: 1 } } as never)).toThrow(/unknown motion option "speed"/);
    expect(() => resolveDetectConfig({ minHits: 1.5 })).toThrow(/minHits/);
    expect(() => resolveDetectConfig({ idleFlushMs: 10 })).toThrow(/idleFlushMs/);
    expect(() => resolveDetectConfig([] as never)).toThrow(/JSON object/);
    expect(resolveDetectConfig({ idleFlushMs: 500, zones: [{ name: 'door', points: [[0, 0], [1, 0], [1, 1]] }] }).idleFlushMs).toBe(500);
  });

  it('merges layers per key, motion per field', () => {
    expect(mergeDetectConfig({ sampling: 1, motion: { gridWidth: 32 } }, undefined, { sampling: 'keyframes', motion: { pixelThreshold: 9 } }))
      .toEqual({ sampling: 'keyframes', motion: { gridWidth: 32, pixelThreshold: 9 } });
  });
});

describe('config file', () => {
  const content = parseDetectConfigFile({
    defaults: { sampling: 1, scoreThreshold: 0.6 },
    streams: { 'cam*': { scoreThreshold: 0.7, minHits: 3 }, cam1: { scoreThreshold: 0.8 }, 'garage-?': { enabled: false } },
  });

  it('applies defaults, then matching globs, then the exact name', () => {
    expect(fileLayers(content, 'cam1').map((l) => l.source)).toEqual(['file:defaults', 'file:streams.cam*', 'file:streams.cam1']);
    expect(fileLayers(content, 'garage-1').map((l) => l.source)).toEqual(['file:defaults', 'file:streams.garage-?']);
    expect(fileLayers(content, 'garage-12').map((l) => l.source)).toEqual(['file:defaults']);
    expect(globToRegExp('a.b*').test('a.bcd')).toBe(true);
    expect(globToRegExp('a.b*').test('axbcd')).toBe(false);
  });

  it('rejects bad entries with their place in the file', () => {
    expect(() => parseDetectConfigFile({ defaults: { samplng: 1 } })).toThrow(/defaults: detect config: unknown option "samplng"/);
    expect(() => parseDetectConfigFile({ streams: { cam1: { scoreThreshold: 2 } } })).toThrow(/streams\.cam1: .*scoreThreshold/);
    expect(() => parseDetectConfigFile({ stream: {} })).toThrow(/unknown key "stream"/);
    expect(() => parseDetectConfigFile([])).toThrow(/JSON object/);
  });

  it('is re-read when it changes; a bad edit keeps the previous content', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-dcfg-'));
    const file = path.join(dir, 'detect.json');
    try {
      fs.writeFileSync(file, JSON.stringify({ defaults: { sampling: 1 } }));
      const logs: string[] = [];
      const f = new DetectConfigFile(file, (l) => logs.push(l));
      expect(f.get().defaults).toEqual({ sampling: 1 });
      fs.writeFileSync(file, JSON.stringify({ defaults: { sampling: 3 } }));
      fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
      expect(f.get().defaults).toEqual({ sampling: 3 });
      fs.writeFileSync(file, '{ not json');
      fs.utimesSync(file, new Date(), new Date(Date.now() + 10_000));
      expect(f.get().defaults).toEqual({ sampling: 3 });
      expect(logs.join('\n')).toMatch(/not valid JSON/);
      expect(() => new DetectConfigFile(path.join(dir, 'missing.json'))).toThrow(/ENOENT/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('DetectConfigResolver and service', () => {
  it('precedence: API > file stream > file defaults > settings > built-in, with the source of each value', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-dcfg-'));
    const file = path.join(dir, 'detect.json');
    fs.writeFileSync(file, JSON.stringify({ defaults: { sampling: 1, endAfterMs: 3000 }, streams: { 'cam*': { scoreThreshold: 0.7 } } }));
    try {
      const overrides = new MemoryDetectConfigStore();
      const resolver = new DetectConfigResolver({ settings: { endAfterMs: 1000, minHits: 3 }, file: new DetectConfigFile(file), overrides });
      await overrides.set('cam1', { scoreThreshold: 0.9 });
      const r = await resolver.resolveStored('cam1');
      expect(r.effective).toMatchObject({ sampling: 1, endAfterMs: 3000, minHits: 3, scoreThreshold: 0.9, labels: ['person'] });
      expect(r.sources).toMatchObject({ sampling: 'file:defaults', endAfterMs: 'file:defaults', minHits: 'settings', scoreThreshold: 'api', labels: 'default' });
      expect(r.override).toEqual({ scoreThreshold: 0.9 });
      expect((await resolver.resolveStored('cam2')).sources.scoreThreshold).toBe('file:streams.cam*');
      expect((await resolver.resolveStored('other')).effective.scoreThreshold).toBe(0.5);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('service validates, stores (PUT replaces, PATCH merges) and clears', async () => {
    const overrides = new MemoryDetectConfigStore();
    const svc = new DetectConfigService(new DetectConfigResolver({ overrides }), overrides);
    await expect(svc.set('cam', { sampling: 0 })).rejects.toBeInstanceOf(DetectConfigError);
    await expect(svc.set('cam', { bogus: 1 })).rejects.toThrow(/unknown option "bogus"/);
    expect((await svc.set('cam', { sampling: 4 })).effective.sampling).toBe(4);
    expect((await svc.set('cam', { minHits: 5 }, true)).override).toEqual({ sampling: 4, minHits: 5 });
    expect((await svc.set('cam', { minHits: 6 })).override).toEqual({ minHits: 6 });
    const cleared = await svc.clear('cam');
    expect(cleared.override).toBeNull();
    expect(cleared.effective.minHits).toBe(2);
    expect(cleared.running).toBe(false);
  });

  it('SQLite store keeps overrides in the given database', async () => {
    const db = new Database(':memory:');
    const a = new SqliteDetectConfigStore(db);
    await a.set('cam', { sampling: 'keyframes', zones: [{ name: 'z', points: [[0, 0], [1, 0], [1, 1]] }] });
    const b = new SqliteDetectConfigStore(db);
    expect(await b.get('cam')).toEqual({ sampling: 'keyframes', zones: [{ name: 'z', points: [[0, 0], [1, 0], [1, 1]] }] });
    expect(await b.delete('cam')).toBe(true);
    expect(await b.delete('cam')).toBe(false);
    expect(await a.get('cam')).toBeUndefined();
    db.close();
  });
});
