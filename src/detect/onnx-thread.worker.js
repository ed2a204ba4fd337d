// An onnxruntime session on its own thread (see onnx-thread.ts). Plain JavaScript on purpose: worker
// entry points are loaded by Node itself, outside the TypeScript loader. onnxruntime-node's
// session.run is synchronous on the calling thread (tens of ms per frame), so it runs here: the main
// event loop keeps serving ingest, reads and the decoders' pipes while a frame is inferred.
//
// workerData:   { modelPath, sessionOptions }
// Messages in:  { id, op: 'run', feeds: { [name]: { type, data (transferred), dims, asFloat32? } }, fetches? }
//               | { id, op: 'close' }
// Messages out: { ready: true, inputNames, outputNames, inputMetadata, outputMetadata } | { ready: false, error }
//               | { id, outputs: { [name]: { type, data (transferred), dims } }, ms, threadId } | { id, error }
import { performance } from 'node:perf_hooks';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

const { modelPath, sessionOptions } = workerData;

// Plain objects: the metadata must survive structured clone whatever onnxruntime builds it from.
const meta = (m) => (m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] } : { name: m.name, isTensor: false });

let session;
try {
  session = await ort.InferenceSession.create(modelPath, sessionOptions);
  parentPort.postMessage({
    ready: true,
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    inputMetadata: session.inputMetadata.map(meta),
    outputMetadata: session.outputMetadata.map(meta),
  });
} catch (err) {
  parentPort.postMessage({ ready: false, error: err instanceof Error ? err.message : String(err) });
}

// `asFloat32` feeds (uint8 pixels, 4× smaller to send) are widened here with one native set() into a
// float32 tensor allocated once per input name and shape: runs are serialised below, so reuse is safe.
const widened = new Map();
function float32Tensor(name, feed) {
  const key = feed.dims.join('x');
  let hit = widened.get(name);
  if (!hit || hit.key !== key) {
    const data = new Float32Array(feed.data.length);
    hit = { key, data, tensor: new ort.Tensor('float32', data, feed.dims) };
    widened.set(name, hit);
  }
  hit.data.set(feed.data);
  return hit.tensor;
}

// Output data goes back by transfer when it owns its whole buffer (onnxruntime-node's do); otherwise a copy.
function outputsOf(result) {
  const outputs = {};
  const transfer = [];
  for (const [name, t] of Object.entries(result)) {
    let data = t.data;
    if (ArrayBuffer.isView(data)) {
      if (!(data.buffer instanceof ArrayBuffer) || data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength) data = data.slice();
      transfer.push(data.buffer);
    }
    outputs[name] = { type: t.type, data, dims: [...t.dims] };
  }
  return { outputs, transfer };
}

async function handle(m) {
  if (m.op === 'close') {
    await session?.release();
    session = undefined;
    return { reply: { id: m.id }, transfer: [] };
  }
  if (!session) throw new Error(`onnxruntime session for ${modelPath} not created`);
  const feeds = {};
  for (const [name, f] of Object.entries(m.feeds)) feeds[name] = f.asFloat32 ? float32Tensor(name, f) : new ort.Tensor(f.type, f.data, f.dims);
  const t0 = performance.now();
  const result = m.fetches ? await session.run(feeds, m.fetches) : await session.run(feeds);
  const ms = performance.now() - t0;
  const { outputs, transfer } = outputsOf(result);
  return { reply: { id: m.id, outputs, ms, threadId }, transfer };
}

// One call at a time, in arrival order: replies carry the caller's id.
let chain = Promise.resolve();
parentPort.on('message', (m) => {
  chain = chain.then(async () => {
    try {
      const { reply, transfer } = await handle(m);
      parentPort.postMessage(reply, transfer);
    } catch (err) {
      parentPort.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) });
    }
    if (m.op === 'close') parentPort.close();
  });
});
