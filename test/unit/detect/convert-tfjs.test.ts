/** The committed models/centernet.onnx is exactly what our converter makes from the pinned npm package. */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { convertFile, convertModel } from '../../../models/convert-tfjs-to-onnx.ts';
import type { TfModel } from '../../../models/tfjs2onnx/tfjs-model.ts';
import { halfToFloat } from '../../../models/tfjs2onnx/tfjs-model.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const SOURCE = join(root, 'node_modules/@vladmandic/human/models/centernet.json');
const COMMITTED = join(root, 'models/centernet.onnx');
/** Also recorded in models/README.md. */
const EXPECTED_SHA256 = '57defe344189dc0fcfdb3b138597fc5d49d5dd10453a5e965c758642d2e18227';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const dir = mkdtempSync(join(tmpdir(), 'kestrel-convert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('TF.js → ONNX converter', () => {
  it('reproduces the committed models/centernet.onnx byte for byte', () => {
    const out = join(dir, 'centernet.onnx');
    const r = convertFile(SOURCE, out, ['tower_0/detections']);
    const fresh = sha256(readFileSync(out));
    expect(fresh).toBe(sha256(readFileSync(COMMITTED)));
    expect(fresh).toBe(EXPECTED_SHA256);
    expect(r.bytes.length).toBe(readFileSync(COMMITTED).length);
  });

  it('fails loudly, naming the node, on an unsupported op', () => {
    const model: TfModel = {
      nodes: [
        { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '-1' }, { size: '4' }] } } } },
        { name: 'weird/op', op: 'Fancy', input: ['x'] },
      ],
      weights: new Map(),
      outputShapes: new Map(),
    };
    expect(() => convertModel(model, ['weird/op'])).toThrow(/node "weird\/op": unsupported op Fancy/);
  });

  it('folds constant shape subgraphs instead of emitting them', () => {
    const i32 = (v: number[]) => ({ dtype: 'int32' as const, shape: [v.length], data: Int32Array.from(v) });
    const model: TfModel = {
      nodes: [
        { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '2' }, { size: '6' }] } } } },
        { name: 'a', op: 'Const' },
        { name: 'b', op: 'Const' },
        { name: 'shape', op: 'Mul', input: ['a', 'b'], attr: { T: { type: 'DT_INT32' } } },
        { name: 'y', op: 'Reshape', input: ['x', 'shape'] },
      ],
      weights: new Map([['a', i32([1, 2])], ['b', i32([3, 2])]]),
      outputShapes: new Map(),
    };
    const r = convertModel(model, ['y']);
    expect(r.convertedTfNodes).toBe(1); // only the Reshape; the Mul became the constant [3, 4]
    expect(r.nodeCount).toBe(1);
  });

  it('dequantises float16', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x3555)).toBeCloseTo(0.33325, 5);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
  });
});
