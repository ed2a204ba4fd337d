/**
 * A small, deterministic ONNX graph builder on top of onnx-proto's protobuf classes.
 * Same calls in the same order → byte-identical output (no timestamps, no random names).
 */
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

const { onnx } = onnxProto;
type INode = OnnxTypes.INodeProto;
type ITensor = OnnxTypes.ITensorProto;
type IValueInfo = OnnxTypes.IValueInfoProto;
type IAttr = OnnxTypes.IAttributeProto;

/** ONNX TensorProto.DataType values we use. */
export const DT = { FLOAT: 1, UINT8: 2, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11 } as const;

export type AttrValue =
  | { i: number }
  | { f: number }
  | { s: string }
  | { ints: readonly number[] }
  | { floats: readonly number[] };

export interface TensorData {
  dataType: number;
  dims: readonly number[];
  /** Little-endian raw bytes (Float32Array/Int32Array/BigInt64Array/Uint8Array/Float64Array views). */
  raw: ArrayBufferView;
}

function toAttr(name: string, v: AttrValue): IAttr {
  const T = onnx.AttributeProto.AttributeType;
  if ('i' in v) return { name, type: T.INT, i: v.i };
  if ('f' in v) return { name, type: T.FLOAT, f: v.f };
  if ('s' in v) return { name, type: T.STRING, s: new TextEncoder().encode(v.s) };
  if ('ints' in v) return { name, type: T.INTS, ints: [...v.ints] };
  return { name, type: T.FLOATS, floats: [...v.floats] };
}

function rawBytes(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
}

export interface GraphIo {
  name: string;
  elemType: number;
  /** number = fixed dim, string = symbolic dim_param; undefined = unknown rank. */
  dims?: (number | string)[];
}

export class OnnxBuilder {
  private readonly nodes: INode[] = [];
  private readonly initializers: ITensor[] = [];
  private readonly inputs: IValueInfo[] = [];
  private readonly outputs: IValueInfo[] = [];
  private readonly names = new Set<string>();
  private readonly shared = new Map<string, string>();
  private counter = 0;

  /** A fresh tensor/node name derived from `base`. */
  fresh(base: string): string {
    let name = base;
    while (this.names.has(name)) name = `${base}_${++this.counter}`;
    this.names.add(name);
    return name;
  }

  /** Reserves an exact name (graph inputs, TF tensor names); throws on clashes. */
  reserve(name: string): string {
    if (this.names.has(name)) throw new Error(`duplicate ONNX tensor name ${name}`);
    this.names.add(name);
    return name;
  }

  has(name: string): boolean {
    return this.names.has(name);
  }

  initializer(name: string, t: TensorData): string {
    this.initializers.push({ name, dims: [...t.dims], dataType: t.dataType, rawData: rawBytes(t.raw) });
    return name;
  }

  /** An initializer under a fresh name. */
  constant(base: string, t: TensorData): string {
    return this.initializer(this.fresh(base), t);
  }

  /** int64 constant (shapes, axes, sizes); identical values share one initializer. */
  int64(values: readonly (number | bigint)[], scalar = false): string {
    const key = `i64:${scalar ? 's' : 'v'}:${values.join(',')}`;
    const hit = this.shared.get(key);
    if (hit) return hit;
    const raw = BigInt64Array.from(values.map((v) => BigInt(v)));
    const name = this.constant(`const_i64_${this.shared.size}`, { dataType: DT.INT64, dims: scalar ? [] : [values.length], raw });
    this.shared.set(key, name);
    return name;
  }

  /** float32 scalar constant, shared by value. */
  float(value: number): string {
    const key = `f32:${value}`;
    const hit = this.shared.get(key);
    if (hit) return hit;
    const name = this.constant(`const_f32_${this.shared.size}`, { dataType: DT.FLOAT, dims: [], raw: Float32Array.of(value) });
    this.shared.set(key, name);
    return name;
  }

  /** Adds a node. `outputs` are the exact output names (already reserved or fresh). */
  node(opType: string, inputs: readonly string[], outputs: readonly string[], attrs: Record<string, AttrValue> = {}, nameHint?: string): void {
    const attribute = Object.keys(attrs).map((k) => toAttr(k, attrs[k] as AttrValue));
    const name = this.fresh(`${nameHint ?? outputs[0] ?? opType}/${opType}`);
    this.nodes.push({ name, opType, input: [...inputs], output: [...outputs], attribute });
  }

  /** Adds a node with one fresh output and returns its name. */
  op(opType: string, inputs: readonly string[], base: string, attrs: Record<string, AttrValue> = {}): string {
    const out = this.fresh(base);
    this.node(opType, inputs, [out], attrs);
    return out;
  }

  addInput(io: GraphIo): void {
    this.inputs.push(valueInfo(io));
  }

  addOutput(io: GraphIo): void {
    this.outputs.push(valueInfo(io));
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  encode(graphName: string, docString: string): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 18 }],
      producerName: 'kestrel-tfjs2onnx',
      producerVersion: '1',
      docString,
      graph: {
        name: graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(io: GraphIo): IValueInfo {
  const shape = io.dims ? { dim: io.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } : undefined;
  return { name: io.name, type: { tensorType: { elemType: io.elemType, ...(shape ? { shape } : {}) } } };
}
