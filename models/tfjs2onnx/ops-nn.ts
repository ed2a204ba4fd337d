/**
 * Spatial ops. TF semantics stay NHWC: every Conv/pool/Resize/DepthToSpace is wrapped in
 * Transpose(NHWC→NCHW) … Transpose(NCHW→NHWC); onnxruntime's transpose optimizer cancels the pairs.
 */
import type { NodeCtx } from './context.ts';
import { DT } from './onnx-builder.ts';
import type { AttrValue } from './onnx-builder.ts';
import type { HostTensor } from './tfjs-model.ts';

export type Converter = (c: NodeCtx) => void;

const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];

function requireNhwc(c: NodeCtx): void {
  const fmt = c.str('data_format', 'NHWC');
  if (fmt !== 'NHWC') c.fail(`data_format ${fmt} is not supported (only NHWC)`);
}

/** strides/dilations/padding attributes for Conv and pools, from NHWC TF attrs. */
function spatialAttrs(c: NodeCtx, withDilations: boolean): Record<string, AttrValue> {
  const strides = c.intList('strides');
  const out: Record<string, AttrValue> = { strides: { ints: [strides[1] ?? 1, strides[2] ?? 1] } };
  if (withDilations) {
    const d = c.intList('dilations');
    out.dilations = { ints: [d[1] ?? 1, d[2] ?? 1] };
  }
  const padding = c.str('padding');
  if (padding === 'SAME') out.auto_pad = { s: 'SAME_UPPER' };
  else if (padding === 'VALID') out.auto_pad = { s: 'VALID' };
  else if (padding === 'EXPLICIT') {
    const p = c.intList('explicit_paddings'); // [n0,n1,h0,h1,w0,w1,c0,c1]
    if ((p[0] ?? 0) || (p[1] ?? 0) || (p[6] ?? 0) || (p[7] ?? 0)) c.fail('explicit padding on batch/channel dims');
    out.pads = { ints: [p[2] ?? 0, p[4] ?? 0, p[3] ?? 0, p[5] ?? 0] };
  } else c.fail(`padding "${padding}" is not supported`);
  return out;
}

function floatConst(c: NodeCtx, t: HostTensor, what: string): Float32Array {
  if (t.dtype !== 'float32') c.fail(`${what} must be float32`);
  return t.data as Float32Array;
}

/** HWIO → OIHW (regular) or [H,W,C,M] → [C·M,1,H,W] (depthwise). */
function convWeights(c: NodeCtx, depthwise: boolean): { name: string; group: number; k: [number, number] } {
  const w = c.requireConst(1, 'filter');
  const [H = 0, W = 0, I = 0, O = 0] = w.shape;
  if (w.shape.length !== 4) c.fail('filter must be 4-D');
  const src = floatConst(c, w, 'filter');
  const dst = new Float32Array(src.length);
  // Both layouts: src index ((h·W + x)·I + i)·O + o; dst channel = depthwise ? i·O + o : o.
  for (let h = 0; h < H; h++)
    for (let x = 0; x < W; x++)
      for (let i = 0; i < I; i++)
        for (let o = 0; o < O; o++) {
          const s = ((h * W + x) * I + i) * O + o;
          const d = depthwise ? ((i * O + o) * H + h) * W + x : ((o * I + i) * H + h) * W + x;
          dst[d] = src[s] as number;
        }
  const dims = depthwise ? [I * O, 1, H, W] : [O, I, H, W];
  const name = c.b.constant(`${c.node.name}/W`, { dataType: DT.FLOAT, dims, raw: dst });
  return { name, group: depthwise ? I : 1, k: [H, W] };
}

function activation(c: NodeCtx, op: string, x: string): string {
  switch (op) {
    case 'Relu':
      return c.op('Relu', [x]);
    case 'Relu6':
      return c.op('Clip', [x, c.b.float(0), c.b.float(6)]);
    case 'Elu':
      return c.op('Elu', [x]);
    case 'Sigmoid':
      return c.op('Sigmoid', [x]);
    case 'LeakyRelu':
      return c.op('LeakyRelu', [x], { alpha: { f: c.float('leakyrelu_alpha', 0.2) } });
    default:
      return c.fail(`fused activation ${op} is not supported`);
  }
}

function conv(c: NodeCtx, depthwise: boolean): void {
  requireNhwc(c);
  const fused = c.strList('fused_ops');
  const numArgs = c.int('num_args', 0);
  const { name: w, group, k } = convWeights(c, depthwise);
  const inputs = [c.op('Transpose', [c.input(0)], { perm: { ints: TO_NCHW } }), w];
  let rest = fused;
  if (rest[0] === 'BiasAdd') {
    const bias = c.requireConst(2, 'bias');
    inputs.push(c.b.constant(`${c.node.name}/B`, { dataType: DT.FLOAT, dims: [bias.shape[0] ?? 0], raw: floatConst(c, bias, 'bias') }));
    rest = rest.slice(1);
  } else if (rest.length) c.fail(`fused_ops [${fused.join(',')}] not supported (only BiasAdd[,activation])`);
  if (rest.length > 1) c.fail(`fused_ops [${fused.join(',')}] not supported`);
  if (numArgs > (fused[0] === 'BiasAdd' ? 1 : 0) + (rest[0] === 'Prelu' ? 1 : 0)) c.fail(`num_args ${numArgs} not supported`);
  let y = c.op('Conv', inputs, { group: { i: group }, kernel_shape: { ints: k }, ...spatialAttrs(c, true) });
  const act = rest[0];
  if (act && act !== 'Prelu') y = activation(c, act, y);
  if (act === 'Prelu') {
    // PRelu's alpha is a per-channel NHWC vector: apply it after transposing back.
    const back = c.op('Transpose', [y], { perm: { ints: TO_NHWC } });
    c.final('PRelu', [back, c.input(3)]);
    return;
  }
  c.final('Transpose', [y], { perm: { ints: TO_NHWC } });
}

function pool(c: NodeCtx, onnxOp: 'MaxPool' | 'AveragePool'): void {
  requireNhwc(c);
  const ks = c.intList('ksize');
  if ((ks[0] ?? 1) !== 1 || (ks[3] ?? 1) !== 1) c.fail('pooling over batch/channels is not supported');
  const x = c.op('Transpose', [c.input(0)], { perm: { ints: TO_NCHW } });
  const y = c.op(onnxOp, [x], { kernel_shape: { ints: [ks[1] ?? 1, ks[2] ?? 1] }, ...spatialAttrs(c, false) });
  c.final('Transpose', [y], { perm: { ints: TO_NHWC } });
}

function resize(c: NodeCtx, mode: 'linear' | 'nearest'): void {
  const size = c.ints(1, 'size');
  if (size.length !== 2) c.fail('size must have 2 elements');
  const align = c.bool('align_corners');
  const half = c.bool('half_pixel_centers');
  if (align && half) c.fail('align_corners together with half_pixel_centers');
  const ctm = align ? 'align_corners' : half ? (mode === 'nearest' ? 'tf_half_pixel_for_nn' : 'half_pixel') : 'asymmetric';
  const attrs: Record<string, AttrValue> = { mode: { s: mode }, coordinate_transformation_mode: { s: ctm }, axes: { ints: [2, 3] } };
  if (mode === 'nearest') attrs.nearest_mode = { s: align ? 'round_prefer_ceil' : 'floor' };
  const x = c.op('Transpose', [c.input(0)], { perm: { ints: TO_NCHW } });
  const y = c.op('Resize', [x, '', '', c.b.int64(size)], attrs);
  c.final('Transpose', [y], { perm: { ints: TO_NHWC } });
}

/** FusedBatchNorm(V3) in inference mode, folded to x·m + a with constant m and a. */
function batchNorm(c: NodeCtx): void {
  requireNhwc(c);
  if (c.bool('is_training')) c.fail('training-mode batch norm');
  const [scale, offset, mean, variance] = [1, 2, 3, 4].map((i) => floatConst(c, c.requireConst(i, 'batch-norm parameter'), 'batch-norm parameter'));
  const eps = c.float('epsilon', 1e-3);
  const n = scale!.length;
  const m = new Float32Array(n);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    m[i] = (scale![i] as number) / Math.sqrt((variance![i] as number) + eps);
    a[i] = (offset![i] as number) - (mean![i] as number) * (m[i] as number);
  }
  const mul = c.op('Mul', [c.input(0), c.b.constant(`${c.node.name}/scale`, { dataType: DT.FLOAT, dims: [n], raw: m })]);
  c.final('Add', [mul, c.b.constant(`${c.node.name}/shift`, { dataType: DT.FLOAT, dims: [n], raw: a })]);
}

function depthToSpace(c: NodeCtx): void {
  requireNhwc(c);
  const x = c.op('Transpose', [c.input(0)], { perm: { ints: TO_NCHW } });
  const y = c.op('DepthToSpace', [x], { blocksize: { i: c.int('block_size') }, mode: { s: 'DCR' } });
  c.final('Transpose', [y], { perm: { ints: TO_NHWC } });
}

function matMul(c: NodeCtx, fused: boolean): void {
  const side = (i: number, flag: string): string => (c.bool(flag) ? c.op('Transpose', [c.input(i)], { perm: { ints: [1, 0] } }) : c.input(i));
  const a = side(0, 'transpose_a');
  const b = side(1, 'transpose_b');
  const ops = fused ? c.strList('fused_ops') : [];
  if (!ops.length) return c.final('MatMul', [a, b]);
  if (ops[0] !== 'BiasAdd' || ops.length > 2) c.fail(`fused_ops [${ops.join(',')}] not supported`);
  let y = c.op('Add', [c.op('MatMul', [a, b]), c.input(2)]);
  if (ops[1]) y = activation(c, ops[1], y);
  c.final('Identity', [y]);
}

export const nnOps: Record<string, Converter> = {
  Conv2D: (c) => conv(c, false),
  _FusedConv2D: (c) => conv(c, false),
  DepthwiseConv2dNative: (c) => conv(c, true),
  FusedDepthwiseConv2dNative: (c) => conv(c, true),
  MaxPool: (c) => pool(c, 'MaxPool'),
  AvgPool: (c) => pool(c, 'AveragePool'),
  ResizeBilinear: (c) => resize(c, 'linear'),
  ResizeNearestNeighbor: (c) => resize(c, 'nearest'),
  FusedBatchNorm: batchNorm,
  FusedBatchNormV3: batchNorm,
  DepthToSpace: depthToSpace,
  MatMul: (c) => matMul(c, false),
  _FusedMatMul: (c) => matMul(c, true),
};
