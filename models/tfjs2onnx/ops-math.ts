/** Element-wise, reduction and type ops. */
import { onnxType } from './context.ts';
import type { NodeCtx } from './context.ts';
import { DT } from './onnx-builder.ts';
import type { Converter } from './ops-nn.ts';

const binary = (onnxOp: string): Converter => (c) => c.final(onnxOp, [c.input(0), c.input(1)]);
const unary = (onnxOp: string): Converter => (c) => c.final(onnxOp, [c.input(0)]);

function isIntType(c: NodeCtx): boolean {
  const t = c.type('T');
  if (t === undefined) c.fail('missing attribute T');
  return t === 'DT_INT32' || t === 'DT_INT64';
}

/** floor(a / b): exact for int32 via float64 (ONNX integer Div truncates toward zero). */
function floorDiv(c: NodeCtx): void {
  const a = c.input(0);
  const b = c.input(1);
  if (!isIntType(c)) return c.final('Floor', [c.op('Div', [a, b])]);
  const back = onnxType(c.type('T'), c.node.name);
  const da = c.op('Cast', [a], { to: { i: DT.DOUBLE } });
  const db = c.op('Cast', [b], { to: { i: DT.DOUBLE } });
  c.final('Cast', [c.op('Floor', [c.op('Div', [da, db])])], { to: { i: back } });
}

/** TF FloorMod: result has the divisor's sign. ONNX Mod with fmod=0 has the same semantics for integers. */
function floorMod(c: NodeCtx): void {
  const a = c.input(0);
  const b = c.input(1);
  if (isIntType(c)) return c.final('Mod', [a, b], { fmod: { i: 0 } });
  const q = c.op('Floor', [c.op('Div', [a, b])]);
  c.final('Sub', [a, c.op('Mul', [q, b])]);
}

function reduce(onnxOp: string): Converter {
  return (c) => {
    const axes = c.ints(1, 'reduction axes');
    const keep = c.bool('keep_dims') || c.bool('keepdims');
    c.final(onnxOp, [c.input(0), c.b.int64(axes)], { keepdims: { i: keep ? 1 : 0 } });
  };
}

function argReduce(onnxOp: 'ArgMax' | 'ArgMin'): Converter {
  return (c) => {
    const [axis] = c.ints(1, 'axis');
    const y = c.op(onnxOp, [c.input(0)], { axis: { i: axis ?? 0 }, keepdims: { i: 0 } });
    c.final('Cast', [y], { to: { i: onnxType(c.type('output_type') ?? 'DT_INT64', c.node.name) } });
  };
}

export const mathOps: Record<string, Converter> = {
  Add: binary('Add'),
  AddV2: binary('Add'),
  BiasAdd: (c) => {
    if (c.str('data_format', 'NHWC') !== 'NHWC') c.fail('BiasAdd only in NHWC');
    c.final('Add', [c.input(0), c.input(1)]);
  },
  Sub: binary('Sub'),
  Mul: binary('Mul'),
  RealDiv: binary('Div'),
  Div: (c) => (isIntType(c) ? floorDiv(c) : c.final('Div', [c.input(0), c.input(1)])),
  FloorDiv: floorDiv,
  FloorMod: floorMod,
  Maximum: binary('Max'),
  Minimum: binary('Min'),
  Pow: binary('Pow'),
  Equal: binary('Equal'),
  NotEqual: (c) => c.final('Not', [c.op('Equal', [c.input(0), c.input(1)])]),
  Less: binary('Less'),
  LessEqual: binary('LessOrEqual'),
  Greater: binary('Greater'),
  GreaterEqual: binary('GreaterOrEqual'),
  LogicalAnd: binary('And'),
  LogicalOr: binary('Or'),
  LogicalNot: unary('Not'),
  Select: (c) => c.final('Where', [c.input(0), c.input(1), c.input(2)]),
  SelectV2: (c) => c.final('Where', [c.input(0), c.input(1), c.input(2)]),
  AddN: (c) => c.final('Sum', c.inputs.map((_, i) => c.input(i))),
  SquaredDifference: (c) => {
    const d = c.op('Sub', [c.input(0), c.input(1)]);
    c.final('Mul', [d, d]);
  },
  Square: (c) => c.final('Mul', [c.input(0), c.input(0)]),
  Rsqrt: (c) => c.final('Reciprocal', [c.op('Sqrt', [c.input(0)])]),
  Relu: unary('Relu'),
  Relu6: (c) => c.final('Clip', [c.input(0), c.b.float(0), c.b.float(6)]),
  LeakyRelu: (c) => c.final('LeakyRelu', [c.input(0)], { alpha: { f: c.float('alpha', 0.2) } }),
  Prelu: (c) => c.final('PRelu', [c.input(0), c.input(1)]),
  Elu: unary('Elu'),
  Selu: unary('Selu'),
  Sigmoid: unary('Sigmoid'),
  Tanh: unary('Tanh'),
  Softplus: unary('Softplus'),
  Exp: unary('Exp'),
  Log: unary('Log'),
  Sqrt: unary('Sqrt'),
  Neg: unary('Neg'),
  Abs: unary('Abs'),
  Floor: unary('Floor'),
  Ceil: unary('Ceil'),
  Reciprocal: unary('Reciprocal'),
  Softmax: (c) => c.final('Softmax', [c.input(0)], { axis: { i: -1 } }),
  Mean: reduce('ReduceMean'),
  Sum: reduce('ReduceSum'),
  Max: reduce('ReduceMax'),
  Min: reduce('ReduceMin'),
  Prod: reduce('ReduceProd'),
  ArgMax: argReduce('ArgMax'),
  ArgMin: argReduce('ArgMin'),
  Cast: (c) => c.final('Cast', [c.input(0)], { to: { i: onnxType(c.type('DstT'), c.node.name) } }),
};
