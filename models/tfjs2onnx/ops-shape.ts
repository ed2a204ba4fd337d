/** Shape, indexing and layout ops. Shape-like inputs become int64 (constant when possible). */
import { onnxType } from './context.ts';
import type { NodeCtx } from './context.ts';
import { DT } from './onnx-builder.ts';
import type { Converter } from './ops-nn.ts';

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/** An int64 version of input i: a shared initializer for constants, otherwise a Cast. */
function i64(c: NodeCtx, i: number): string {
  const v = c.constValue(i);
  if (v) {
    if (v.dtype !== 'int32') c.fail(`input #${i} must be int32`);
    return c.b.int64(Array.from(v.data), v.shape.length === 0);
  }
  return c.op('Cast', [c.input(i)], { to: { i: DT.INT64 } });
}

function stridedSlice(c: NodeCtx): void {
  const begin = c.ints(1, 'begin');
  const end = c.ints(2, 'end');
  const strides = c.ints(3, 'strides');
  const bm = c.int('begin_mask');
  const em = c.int('end_mask');
  const sm = c.int('shrink_axis_mask');
  if (c.int('ellipsis_mask')) c.fail('ellipsis_mask is not supported');
  if (c.int('new_axis_mask')) c.fail('new_axis_mask is not supported');
  const starts: bigint[] = [];
  const ends: bigint[] = [];
  const steps: bigint[] = [];
  const squeeze: number[] = [];
  begin.forEach((b, i) => {
    const bit = 1 << i;
    const s = strides[i] ?? 1;
    if (sm & bit) {
      starts.push(BigInt(b));
      ends.push(b === -1 ? INT64_MAX : BigInt(b + 1));
      steps.push(1n);
      squeeze.push(i);
      return;
    }
    starts.push(bm & bit ? (s > 0 ? 0n : INT64_MAX) : BigInt(b));
    ends.push(em & bit ? (s > 0 ? INT64_MAX : INT64_MIN) : BigInt(end[i] ?? 0));
    steps.push(BigInt(s));
  });
  const axes = begin.map((_, i) => i);
  const inputs = [c.input(0), c.b.int64(starts), c.b.int64(ends), c.b.int64(axes), c.b.int64(steps)];
  if (!squeeze.length) return c.final('Slice', inputs);
  c.final('Squeeze', [c.op('Slice', inputs), c.b.int64(squeeze)]);
}

function concat(c: NodeCtx): void {
  const n = c.inputs.length - 1;
  const [axis] = c.ints(n, 'axis');
  c.final('Concat', c.inputs.slice(0, n).map((_, i) => c.input(i)), { axis: { i: axis ?? 0 } });
}

function pack(c: NodeCtx): void {
  const axis = c.int('axis');
  const parts = c.inputs.map((_, i) => c.op('Unsqueeze', [c.input(i), c.b.int64([axis])]));
  if (parts.length === 1) return c.final('Identity', parts);
  c.final('Concat', parts, { axis: { i: axis } });
}

function splitInto(c: NodeCtx, value: string, axis: number, count: number, sizes: string | undefined, squeeze: boolean): void {
  const parts = Array.from({ length: count }, (_, i) => (squeeze ? c.tmp(`part${i}`) : c.out(i)));
  const inputs = sizes ? [value, sizes] : [value];
  c.b.node('Split', inputs, parts, { axis: { i: axis }, ...(sizes ? {} : { num_outputs: { i: count } }) });
  if (squeeze) parts.forEach((p, i) => c.b.node('Squeeze', [p, c.b.int64([axis])], [c.out(i)]));
}

function pad(c: NodeCtx, mode: 'constant' | 'reflect'): void {
  const p = c.ints(1, 'paddings');
  const rank = p.length / 2;
  const pads = [...Array.from({ length: rank }, (_, i) => p[2 * i] ?? 0), ...Array.from({ length: rank }, (_, i) => p[2 * i + 1] ?? 0)];
  const inputs = [c.input(0), c.b.int64(pads)];
  if (c.node.op === 'PadV2') inputs.push(c.input(2));
  c.final('Pad', inputs, { mode: { s: mode } });
}

export const shapeOps: Record<string, Converter> = {
  Identity: (c) => c.final('Identity', [c.input(0)]),
  StopGradient: (c) => c.final('Identity', [c.input(0)]),
  Snapshot: (c) => c.final('Identity', [c.input(0)]),
  Reshape: (c) => {
    const v = c.constValue(1);
    const zero = v ? Array.from(v.data).includes(0) : false;
    c.final('Reshape', [c.input(0), i64(c, 1)], zero ? { allowzero: { i: 1 } } : {});
  },
  ExpandDims: (c) => c.final('Unsqueeze', [c.input(0), c.b.int64(c.ints(1, 'axis'))]),
  Squeeze: (c) => {
    const axes = c.intList('squeeze_dims').length ? c.intList('squeeze_dims') : c.intList('axis');
    c.final('Squeeze', axes.length ? [c.input(0), c.b.int64(axes)] : [c.input(0)]);
  },
  ConcatV2: concat,
  Pack: pack,
  Unpack: (c) => splitInto(c, c.input(0), c.int('axis'), c.int('num'), undefined, true),
  Split: (c) => splitInto(c, c.input(1), c.ints(0, 'axis')[0] ?? 0, c.int('num_split'), undefined, false),
  SplitV: (c) => {
    const sizes = c.ints(1, 'size_splits');
    if (sizes.includes(-1)) c.fail('size_splits with -1 is not supported');
    splitInto(c, c.input(0), c.ints(2, 'axis')[0] ?? 0, sizes.length, c.b.int64(sizes), false);
  },
  Transpose: (c) => c.final('Transpose', [c.input(0)], { perm: { ints: c.ints(1, 'perm') } }),
  Tile: (c) => c.final('Tile', [c.input(0), i64(c, 1)]),
  Fill: (c) => c.final('Expand', [c.input(1), i64(c, 0)]),
  Range: (c) => c.final('Range', [c.input(0), c.input(1), c.input(2)]),
  Shape: (c) => c.final('Cast', [c.op('Shape', [c.input(0)])], { to: { i: onnxType(c.type('out_type') ?? 'DT_INT32', c.node.name) } }),
  Size: (c) => c.final('Cast', [c.op('Size', [c.input(0)])], { to: { i: onnxType(c.type('out_type') ?? 'DT_INT32', c.node.name) } }),
  Pad: (c) => pad(c, 'constant'),
  PadV2: (c) => pad(c, 'constant'),
  MirrorPad: (c) => {
    if (c.str('mode') !== 'REFLECT') c.fail(`MirrorPad mode ${c.str('mode')} is not supported`);
    pad(c, 'reflect');
  },
  StridedSlice: stridedSlice,
  GatherV2: (c) => {
    if (c.int('batch_dims')) c.fail('batch_dims ≠ 0 is not supported');
    const [axis] = c.ints(2, 'axis');
    c.final('Gather', [c.input(0), c.input(1)], { axis: { i: axis ?? 0 } });
  },
  GatherNd: (c) => c.final('GatherND', [c.input(0), c.op('Cast', [c.input(1)], { to: { i: DT.INT64 } })]),
  TopKV2: (c) => {
    const [k] = c.ints(1, 'k');
    const idx = c.tmp('indices64');
    c.b.node('TopK', [c.input(0), c.b.int64([k ?? 1])], [c.out(0), idx], { axis: { i: -1 }, largest: { i: 1 }, sorted: { i: c.bool('sorted', true) ? 1 : 0 } });
    c.b.node('Cast', [idx], [c.out(1)], { to: { i: DT.INT32 } });
  },
};
