/**
 * Converts a TF.js graph model to ONNX (opset 18, IR 8). Deterministic: same input → same bytes.
 *
 *   node --import tsx models/convert-tfjs-to-onnx.ts <model.json> <out.onnx> <output-name>[,<output-name>…]
 *
 * e.g. node --import tsx models/convert-tfjs-to-onnx.ts \
 *        node_modules/@vladmandic/human/models/centernet.json models/centernet.onnx tower_0/detections
 */
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import { convertModel } from './tfjs2onnx/convert.ts';
import type { ConvertResult } from './tfjs2onnx/convert.ts';
import { loadTfjsModel } from './tfjs2onnx/tfjs-model.ts';

export { convertModel } from './tfjs2onnx/convert.ts';
export { loadTfjsModel } from './tfjs2onnx/tfjs-model.ts';

/** Converts `modelJson` and writes `outPath`; returns what was written. */
export function convertFile(modelJson: string, outPath: string, outputs: readonly string[]): ConvertResult {
  const model = loadTfjsModel(modelJson);
  const result = convertModel(model, outputs, `converted from TF.js graph model ${basename(modelJson)} by kestrel tfjs2onnx`);
  writeFileSync(outPath, result.bytes);
  return result;
}

function main(argv: string[]): void {
  const [modelJson, outPath, outputs] = argv;
  if (!modelJson || !outPath || !outputs) {
    console.error('usage: node --import tsx models/convert-tfjs-to-onnx.ts <model.json> <out.onnx> <output-name>[,<output-name>…]');
    process.exit(2);
  }
  const t0 = performance.now();
  const r = convertFile(modelJson, outPath, outputs.split(','));
  const ms = (performance.now() - t0).toFixed(0);
  console.log(`${outPath}: ${r.bytes.length} bytes, ${r.nodeCount} ONNX nodes from ${r.convertedTfNodes} TF nodes, ${ms} ms`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    console.error(`conversion failed: ${(err as Error).message}`);
    process.exit(1);
  }
}
