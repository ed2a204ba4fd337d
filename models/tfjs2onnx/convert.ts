/**
 * TF.js graph model → ONNX (opset 18, IR 8).
 *
 * Only the nodes needed for the requested outputs are converted, in a deterministic post-order walk.
 * Const nodes become initializers lazily (named after the TF tensor), small all-constant subgraphs are
 * folded in JS, every other op goes through the converter table and unknown ops fail naming the node.
 */
import { NodeCtx, dataInputs, onnxType } from './context.ts';
import type { GraphState } from './context.ts';
import { foldNode } from './fold.ts';
import { DT, OnnxBuilder } from './onnx-builder.ts';
import type { TensorData } from './onnx-builder.ts';
import { mathOps } from './ops-math.ts';
import { nnOps } from './ops-nn.ts';
import type { Converter } from './ops-nn.ts';
import { shapeOps } from './ops-shape.ts';
import type { HostTensor, TfModel, TfNode } from './tfjs-model.ts';

export const CONVERTERS: Readonly<Record<string, Converter>> = { ...nnOps, ...mathOps, ...shapeOps };

/** Ops that are attempted in JS when all their inputs are constants. */
const FOLDABLE = new Set(['Identity', 'StopGradient', 'Snapshot', 'Cast', 'Shape', 'Reshape', 'ExpandDims', 'Squeeze', 'Pack', 'ConcatV2', 'StridedSlice', 'Add', 'AddV2', 'Sub', 'Mul', 'RealDiv', 'FloorDiv', 'FloorMod', 'Maximum', 'Minimum']);

export interface ConvertResult {
  bytes: Uint8Array;
  nodeCount: number;
  convertedTfNodes: number;
}

function parseRef(ref: string): { node: string; index: number } {
  const m = /^(.*?)(?::(\d+))?$/.exec(ref);
  return { node: m?.[1] ?? ref, index: m?.[2] ? Number(m[2]) : 0 };
}

function refKey(ref: string): string {
  const { node, index } = parseRef(ref);
  return index === 0 ? node : `${node}:${index}`;
}

function hostToTensor(t: HostTensor): TensorData {
  const dataType = t.dtype === 'float32' ? DT.FLOAT : t.dtype === 'int32' ? DT.INT32 : DT.BOOL;
  return { dataType, dims: t.shape, raw: t.data };
}

/** Output dtype of a TF node (for graph outputs). */
function outputType(node: TfNode, index: number): number {
  const a = node.attr ?? {};
  if (node.op === 'TopKV2' && index === 1) return DT.INT32;
  const t = a.DstT?.type ?? a.out_type?.type ?? a.output_type?.type ?? a.dtype?.type ?? a.Tparams?.type ?? a.T?.type ?? 'DT_FLOAT';
  return onnxType(t, node.name);
}

export function convertModel(model: TfModel, outputs: readonly string[], docString = ''): ConvertResult {
  const byName = new Map<string, TfNode>();
  for (const n of model.nodes) byName.set(n.name, n);
  const b = new OnnxBuilder();
  const consts = new Map<string, HostTensor>();
  const produced = new Map<string, string>();
  const materialised = new Map<string, string>();

  const nodeOf = (name: string): TfNode => {
    const n = byName.get(name);
    if (!n) throw new Error(`graph has no node named "${name}"`);
    return n;
  };

  const state: GraphState = {
    constOf: (ref) => consts.get(refKey(ref)),
    tensorName: (ref) => {
      const key = refKey(ref);
      const done = produced.get(key) ?? materialised.get(key);
      if (done) return done;
      const c = consts.get(key);
      if (!c) throw new Error(`tensor "${ref}" is used before it is produced`);
      const name = b.initializer(b.fresh(key), hostToTensor(c));
      materialised.set(key, name);
      return name;
    },
  };

  const visited = new Set<string>();
  let converted = 0;
  const visit = (name: string): void => {
    if (visited.has(name)) return;
    visited.add(name);
    const node = nodeOf(name);
    const ins = dataInputs(node);
    for (const r of ins) visit(parseRef(r).node);
    if (node.op === 'Const') {
      const w = model.weights.get(node.name);
      if (!w) throw new Error(`node "${node.name}" (Const): no value in the weights manifest`);
      consts.set(node.name, w);
      return;
    }
    if (node.op === 'Placeholder') {
      const dims = node.attr?.shape?.shape?.dim?.map((d, i) => (Number(d.size ?? -1) < 0 ? `${node.name}_dim${i}` : Number(d.size)));
      b.addInput({ name: b.reserve(node.name), elemType: onnxType(node.attr?.dtype?.type, node.name), ...(dims ? { dims } : {}) });
      produced.set(node.name, node.name);
      return;
    }
    const inVals = ins.map((r) => consts.get(refKey(r)));
    if (FOLDABLE.has(node.op) && inVals.every((v) => v !== undefined)) {
      const folded = foldNode(node, inVals as HostTensor[]);
      if (folded) {
        consts.set(node.name, folded);
        return;
      }
    }
    const conv = CONVERTERS[node.op];
    if (!conv) throw new Error(`node "${node.name}": unsupported op ${node.op}`);
    conv(new NodeCtx(b, node, state));
    converted++;
    // Register every output name the converter reserved (node, node:1, …).
    for (let i = 0; i < 64; i++) {
      const key = i === 0 ? node.name : `${node.name}:${i}`;
      if (!b.has(key)) break;
      produced.set(key, key);
    }
  };

  for (const out of outputs) visit(parseRef(out).node);
  for (const out of outputs) {
    const { node, index } = parseRef(out);
    let name = state.tensorName(out);
    if (name !== out) {
      b.node('Identity', [name], [b.reserve(out)]);
      name = out;
    }
    const shape = model.outputShapes.get(out);
    b.addOutput({ name, elemType: outputType(nodeOf(node), index), ...(shape ? { dims: shape.map((d, i) => (d < 0 ? `${out}_dim${i}` : d)) } : {}) });
  }
  return { bytes: b.encode('tfjs2onnx', docString), nodeCount: b.nodeCount, convertedTfNodes: converted };
}
