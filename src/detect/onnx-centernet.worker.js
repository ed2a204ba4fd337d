// CenterNet inference thread. Plain JavaScript on purpose: worker entry points are loaded by Node
// itself, outside the TypeScript loader. onnxruntime-node's session.run is synchronous on the
// calling thread (50 ms or more per 512x512 frame here), so it runs here: the main event loop keeps
// serving ingest, reads and the decoders' pipes while a frame is inferred.
//
// Messages in:  { id, op: 'run', rgb: Uint8Array (512*512*3, transferred) } | { id, op: 'close' }
// Messages out: { id, rows: Float32Array (transferred), ms } | { id, error } | { ready, inputNames, outputNames }
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

const { modelPath, sessionOptions, size } = workerData;
const INPUT = 'tower_0/images';
const OUTPUT = 'tower_0/detections';

let session;
try {
  session = await ort.InferenceSession.create(modelPath, sessionOptions);
  parentPort.postMessage({ ready: true, inputNames: session.inputNames, outputNames: session.outputNames });
} catch (err) {
  parentPort.postMessage({ ready: false, error: err instanceof Error ? err.message : String(err) });
}

// One input tensor, reused: runs are serialised below, and uint8 → float32 is one native set().
const input = new Float32Array(size * size * 3);
const tensor = new ort.Tensor('float32', input, [1, size, size, 3]);

async function handle(m) {
  if (m.op === 'close') {
    await session?.release();
    return { id: m.id, result: 0 };
  }
  if (!session) throw new Error('CenterNet session not created');
  input.set(m.rgb);
  const t0 = performance.now();
  const out = await session.run({ [INPUT]: tensor });
  const ms = performance.now() - t0;
  const det = out[OUTPUT];
  if (!det) throw new Error(`CenterNet returned no ${OUTPUT}`);
  const rows = Float32Array.from(det.data);
  return { id: m.id, rows, ms };
}

let chain = Promise.resolve();
parentPort.on('message', (m) => {
  chain = chain.then(async () => {
    try {
      const reply = await handle(m);
      parentPort.postMessage(reply, reply.rows ? [reply.rows.buffer] : []);
    } catch (err) {
      parentPort.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) });
    }
    if (m.op === 'close') parentPort.close();
  });
});
