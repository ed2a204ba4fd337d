/** Per-node conversion context handed to the op converters. */
import type { OnnxBuilder } from './onnx-builder.ts';
import { DT } from './onnx-builder.ts';
import type { HostTensor, TfAttrValue, TfNode } from './tfjs-model.ts';

export interface GraphState {
  /** ONNX tensor name for a TF tensor reference ("node" or "node:1"); constants become initializers. */
  tensorName(ref: string): string;
  /** The host value of a reference when it is a constant (Const node or folded subgraph). */
  constOf(ref: string): HostTensor | undefined;
}

const TF_TO_ONNX: Record<string, number> = { DT_FLOAT: DT.FLOAT, DT_INT32: DT.INT32, DT_INT64: DT.INT64, DT_BOOL: DT.BOOL, DT_UINT8: DT.UINT8, DT_DOUBLE: DT.DOUBLE };

export function onnxType(tfType: string | undefined, where: string): number {
  const t = tfType === undefined ? undefined : TF_TO_ONNX[tfType];
  if (t === undefined) throw new Error(`${where}: unsupported TF dtype ${tfType ?? '(none)'}`);
  return t;
}

export function dataInputs(node: TfNode): string[] {
  return (node.input ?? []).filter((i) => !i.startsWith('^'));
}

export class NodeCtx {
  readonly inputs: string[];

  constructor(
    readonly b: OnnxBuilder,
    readonly node: TfNode,
    private readonly g: GraphState,
  ) {
    this.inputs = dataInputs(node);
  }

  fail(msg: string): never {
    throw new Error(`node "${this.node.name}" (${this.node.op}): ${msg}`);
  }

  private ref(i: number): string {
    const r = this.inputs[i];
    if (r === undefined) this.fail(`missing input #${i}`);
    return r;
  }

  input(i: number): string {
    return this.g.tensorName(this.ref(i));
  }

  constValue(i: number): HostTensor | undefined {
    return this.g.constOf(this.ref(i));
  }

  requireConst(i: number, what: string): HostTensor {
    const v = this.constValue(i);
    if (!v) this.fail(`${what} (input #${i}) must be a constant`);
    return v;
  }

  /** A constant integer input as plain numbers. */
  ints(i: number, what: string): number[] {
    const v = this.requireConst(i, what);
    if (v.dtype !== 'int32') this.fail(`${what} must be int32, got ${v.dtype}`);
    return Array.from(v.data);
  }

  /** Exact ONNX name for this node's output #i (TF naming: "node", "node:1", …). */
  out(i = 0): string {
    return this.b.reserve(i === 0 ? this.node.name : `${this.node.name}:${i}`);
  }

  /** A fresh intermediate name scoped under this node. */
  tmp(suffix: string): string {
    return this.b.fresh(`${this.node.name}/${suffix}`);
  }

  /** Adds a node with one fresh intermediate output. */
  op(opType: string, inputs: readonly string[], attrs: Parameters<OnnxBuilder['node']>[3] = {}): string {
    const o = this.tmp(opType);
    this.b.node(opType, inputs, [o], attrs);
    return o;
  }

  /** Adds the node producing this node's output #0. */
  final(opType: string, inputs: readonly string[], attrs: Parameters<OnnxBuilder['node']>[3] = {}): void {
    this.b.node(opType, inputs, [this.out(0)], attrs);
  }

  attr(name: string): TfAttrValue | undefined {
    return this.node.attr?.[name];
  }

  bool(name: string, dflt = false): boolean {
    return this.attr(name)?.b ?? dflt;
  }

  int(name: string, dflt = 0): number {
    const v = this.attr(name)?.i;
    return v === undefined ? dflt : Number(v);
  }

  float(name: string, dflt = 0): number {
    return this.attr(name)?.f ?? dflt;
  }

  str(name: string, dflt = ''): string {
    const s = this.attr(name)?.s;
    return s === undefined ? dflt : Buffer.from(s, 'base64').toString('utf8');
  }

  intList(name: string): number[] {
    return (this.attr(name)?.list?.i ?? []).map(Number);
  }

  strList(name: string): string[] {
    return (this.attr(name)?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString('utf8'));
  }

  type(name: string): string | undefined {
    return this.attr(name)?.type;
  }
}
