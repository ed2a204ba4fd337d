/** Builds a Detector from configuration. */
import type { Detector } from './detector.ts';
import { CenterNetDetector } from './onnx-centernet.ts';
import { YoloDetector } from './yolo-detector.ts';

export type DetectorConfig =
  | {
      type: 'centernet';
      /** Default: models/centernet.onnx in this repository. */
      modelPath?: string;
      /** COCO class ids to alert on; default [0] (person). */
      classIds?: number[];
      scoreThreshold?: number;
    }
  | {
      type: 'yolo';
      modelPath: string;
      /** Class to alert on; default 0. */
      classId?: number;
      /** Class names by id; default COCO-80. */
      labels?: string[];
      scoreThreshold?: number;
      resize?: 'letterbox' | 'stretch';
      layout?: 'yolov5' | 'yolov8' | 'auto';
    };

export async function createDetector(config: DetectorConfig): Promise<Detector> {
  switch (config.type) {
    case 'centernet':
      return CenterNetDetector.create({
        ...(config.modelPath !== undefined ? { modelPath: config.modelPath } : {}),
        ...(config.classIds !== undefined ? { classIds: config.classIds } : {}),
        ...(config.scoreThreshold !== undefined ? { scoreThreshold: config.scoreThreshold } : {}),
      });
    case 'yolo':
      return YoloDetector.create({
        modelPath: config.modelPath,
        classIds: [config.classId ?? 0],
        ...(config.labels !== undefined ? { labels: config.labels } : {}),
        ...(config.scoreThreshold !== undefined ? { scoreThreshold: config.scoreThreshold } : {}),
        ...(config.resize !== undefined ? { resize: config.resize } : {}),
        ...(config.layout !== undefined ? { layout: config.layout } : {}),
      });
    default: {
      const never: never = config;
      throw new Error(`unknown detector type ${(never as { type?: string }).type ?? '?'}`);
    }
  }
}
