/**
 * Loading a TF.js graph model (model.json + weight shards) into plain JS values.
 *
 * Weights are dequantised on load: float16 → float32, affine uint8/uint16 (value = q·scale + min) → float32.
 * int32 and bool weights keep their type.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type TfDtype = 'float32' | 'int32' | 'bool';

/** A host tensor: row-major data plus its shape. */
export interface HostTensor {
  dtype: TfDtype;
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

export interface TfAttrValue {
  b?: boolean;
  i?: string | number;
  f?: number;
  s?: string; // base64
  type?: string;
  list?: { i?: (string | number)[]; s?: string[]; f?: number[] };
  shape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
  tensor?: unknown;
}

export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttrValue>;
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number; original_dtype?: string };
}

interface ModelJson {
  format?: string;
  signature?: { outputs?: Record<string, { name: string; tensorShape?: { dim?: { size?: string }[] } }> };
  modelTopology: { node: TfNode[] };
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
}

export interface TfModel {
  nodes: TfNode[];
  weights: Map<string, HostTensor>;
  /** Output shapes from the signature, when the model declares them (index by tensor name). */
  outputShapes: Map<string, number[]>;
}

export function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** IEEE 754 half → float. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, float16: 2, uint8: 1, uint16: 2 };

function decodeWeight(spec: WeightSpec, buf: Buffer, offset: number): { tensor: HostTensor; bytes: number } {
  const n = size(spec.shape);
  const q = spec.quantization;
  const storage = q?.dtype ?? spec.dtype;
  const per = BYTES[storage];
  if (per === undefined) throw new Error(`weight ${spec.name}: unsupported storage dtype ${storage}`);
  const bytes = n * per;
  if (offset + bytes > buf.length) throw new Error(`weight ${spec.name}: shards too short`);
  const view = new DataView(buf.buffer, buf.byteOffset + offset, bytes);
  const shape = [...spec.shape];
  if (spec.dtype === 'float32') {
    const out = new Float32Array(n);
    if (!q) for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
    else if (q.dtype === 'float16') for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
    else if (q.dtype === 'uint8' || q.dtype === 'uint16') {
      const scale = q.scale ?? 1;
      const min = q.min ?? 0;
      for (let i = 0; i < n; i++) {
        const v = q.dtype === 'uint8' ? view.getUint8(i) : view.getUint16(i * 2, true);
        out[i] = v * scale + min;
      }
    } else throw new Error(`weight ${spec.name}: unsupported quantization ${q.dtype}`);
    return { tensor: { dtype: 'float32', shape, data: out }, bytes };
  }
  if (spec.dtype === 'int32') {
    if (q) throw new Error(`weight ${spec.name}: quantized int32 is not supported`);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true);
    return { tensor: { dtype: 'int32', shape, data: out }, bytes };
  }
  if (spec.dtype === 'bool') {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = view.getUint8(i) ? 1 : 0;
    return { tensor: { dtype: 'bool', shape, data: out }, bytes };
  }
  throw new Error(`weight ${spec.name}: unsupported dtype ${spec.dtype}`);
}

export function loadTfjsModel(modelJsonPath: string): TfModel {
  const json = JSON.parse(readFileSync(modelJsonPath, 'utf8')) as ModelJson;
  if (json.format !== undefined && json.format !== 'graph-model') {
    throw new Error(`${modelJsonPath}: format "${json.format}" is not a TF.js graph model`);
  }
  const dir = dirname(modelJsonPath);
  const weights = new Map<string, HostTensor>();
  for (const group of json.weightsManifest) {
    const buf = Buffer.concat(group.paths.map((p) => readFileSync(join(dir, p))));
    let offset = 0;
    for (const spec of group.weights) {
      const { tensor, bytes } = decodeWeight(spec, buf, offset);
      weights.set(spec.name, tensor);
      offset += bytes;
    }
  }
  const outputShapes = new Map<string, number[]>();
  for (const out of Object.values(json.signature?.outputs ?? {})) {
    const dims = out.tensorShape?.dim;
    if (dims) outputShapes.set(out.name, dims.map((d) => Number(d.size ?? -1)));
  }
  return { nodes: json.modelTopology.node, weights, outputShapes };
}
