/**
 * Constant folding in JS for small shape-computation subgraphs (all inputs constant).
 * Returns undefined when an op is not foldable; the converter then emits it as an ONNX node.
 */
import type { HostTensor, TfDtype, TfNode } from './tfjs-model.ts';
import { size } from './tfjs-model.ts';

/** Largest result folded; bigger constant subgraphs are left to onnxruntime. */
const MAX_FOLD = 1 << 20;

function make(dtype: TfDtype, shape: number[], values: ArrayLike<number>): HostTensor {
  const data = dtype === 'float32' ? Float32Array.from(values) : dtype === 'int32' ? Int32Array.from(values) : Uint8Array.from(values, (v) => (v ? 1 : 0));
  return { dtype, shape, data };
}

function broadcastShape(a: number[], b: number[]): number[] | undefined {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return undefined;
    out.push(Math.max(x, y));
  }
  return out;
}

/** Flat index into `shape` for the broadcast position `idx` of `out`. */
function srcIndex(out: number[], shape: number[], idx: number): number {
  let rem = idx;
  let flat = 0;
  let mul = 1;
  for (let i = out.length - 1; i >= 0; i--) {
    const d = out[i] as number;
    const coord = rem % d;
    rem = Math.floor(rem / d);
    const j = i - (out.length - shape.length);
    if (j >= 0) {
      const sd = shape[j] as number;
      flat += (sd === 1 ? 0 : coord) * mul;
      mul *= sd;
    }
  }
  return flat;
}

const BINARY: Record<string, (a: number, b: number, int: boolean) => number> = {
  Add: (a, b) => a + b,
  AddV2: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b, int) => (int ? Math.imul(a, b) : a * b),
  RealDiv: (a, b) => a / b,
  FloorDiv: (a, b) => Math.floor(a / b),
  FloorMod: (a, b) => a - Math.floor(a / b) * b,
  Maximum: (a, b) => Math.max(a, b),
  Minimum: (a, b) => Math.min(a, b),
};

function binary(op: string, a: HostTensor, b: HostTensor): HostTensor | undefined {
  const f = BINARY[op];
  if (!f || a.dtype !== b.dtype || a.dtype === 'bool') return undefined;
  const shape = broadcastShape(a.shape, b.shape);
  if (!shape || size(shape) > MAX_FOLD) return undefined;
  const int = a.dtype === 'int32';
  const out = Array.from({ length: size(shape) }, (_, i) => f(a.data[srcIndex(shape, a.shape, i)] as number, b.data[srcIndex(shape, b.shape, i)] as number, int));
  return make(a.dtype, shape, out);
}

function ints(t: HostTensor | undefined): number[] | undefined {
  return t && t.dtype === 'int32' ? Array.from(t.data) : undefined;
}

function stridedSlice1d(node: TfNode, x: HostTensor, begin: number[], end: number[], strides: number[]): HostTensor | undefined {
  const attr = (k: string): number => Number(node.attr?.[k]?.i ?? 0);
  if (x.shape.length !== 1 || begin.length !== 1 || attr('ellipsis_mask') || attr('new_axis_mask')) return undefined;
  const n = x.shape[0] as number;
  const norm = (v: number): number => (v < 0 ? v + n : v);
  const s = strides[0] ?? 1;
  if (s <= 0) return undefined;
  let b = attr('begin_mask') & 1 ? 0 : Math.min(Math.max(norm(begin[0] ?? 0), 0), n);
  if (attr('shrink_axis_mask') & 1) {
    b = norm(begin[0] ?? 0);
    return make(x.dtype, [], [x.data[b] as number]);
  }
  const e = attr('end_mask') & 1 ? n : Math.min(Math.max(norm(end[0] ?? 0), 0), n);
  const vals: number[] = [];
  for (let i = b; i < e; i += s) vals.push(x.data[i] as number);
  return make(x.dtype, [vals.length], vals);
}

export function foldNode(node: TfNode, ins: HostTensor[]): HostTensor | undefined {
  const [a, b] = ins;
  if (!a) return undefined;
  const attr = node.attr ?? {};
  switch (node.op) {
    case 'Identity':
    case 'StopGradient':
    case 'Snapshot':
      return a;
    case 'Cast': {
      const to = attr.DstT?.type;
      const dtype: TfDtype | undefined = to === 'DT_FLOAT' ? 'float32' : to === 'DT_INT32' ? 'int32' : to === 'DT_BOOL' ? 'bool' : undefined;
      if (!dtype) return undefined;
      return make(dtype, [...a.shape], dtype === 'int32' ? Array.from(a.data, (v) => Math.trunc(v)) : a.data);
    }
    case 'Shape':
      return make('int32', [a.shape.length], a.shape);
    case 'Reshape': {
      const shape = ints(b);
      if (!shape) return undefined;
      const known = shape.filter((d) => d !== -1).reduce((x, y) => x * y, 1);
      return { ...a, shape: shape.map((d) => (d === -1 ? size(a.shape) / known : d)) };
    }
    case 'ExpandDims': {
      const [axis] = ints(b) ?? [];
      if (axis === undefined) return undefined;
      const shape = [...a.shape];
      shape.splice(axis < 0 ? axis + shape.length + 1 : axis, 0, 1);
      return { ...a, shape };
    }
    case 'Squeeze': {
      const dims = (attr.squeeze_dims?.list?.i ?? []).map(Number).map((d) => (d < 0 ? d + a.shape.length : d));
      return { ...a, shape: a.shape.filter((d, i) => (dims.length ? !dims.includes(i) : d !== 1)) };
    }
    case 'Pack': {
      if (Number(attr.axis?.i ?? 0) !== 0 || ins.some((t) => t.dtype !== a.dtype || t.shape.join() !== a.shape.join())) return undefined;
      return make(a.dtype, [ins.length, ...a.shape], ins.flatMap((t) => Array.from(t.data)));
    }
    case 'ConcatV2': {
      const parts = ins.slice(0, -1);
      const [axis] = ints(ins.at(-1)) ?? [];
      if ((axis !== 0 && axis !== -1) || parts.some((t) => t.shape.length !== 1 || t.dtype !== a.dtype)) return undefined;
      const vals = parts.flatMap((t) => Array.from(t.data));
      return make(a.dtype, [vals.length], vals);
    }
    case 'StridedSlice': {
      const [begin, end, strides] = [ints(ins[1]), ints(ins[2]), ints(ins[3])];
      if (!begin || !end || !strides) return undefined;
      return stridedSlice1d(node, a, begin, end, strides);
    }
    default:
      return b ? binary(node.op, a, b) : undefined;
  }
}
