/**
 * HTTP edge of GetClip (streamed fragmented MP4) and GetImages (JSON with base64 images).
 */
import express, { type Request, type Response } from 'express';
import type { ClipService } from '../archive/clip-service.ts';
import type { ImagesService } from '../archive/images-service.ts';
import type { StreamService } from '../control/stream-service.ts';
import { invalidArgument } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { responseSink } from './data-routes.ts';
import { jsonBody } from './json-body.ts';
import { sendJson, wrap } from './respond.ts';
import type { ConcurrencyGate } from './admission.ts';

export interface MediaExportDeps {
  streams: StreamService;
  clips: ClipService;
  images: ImagesService;
  log: Logger;
  /** Caps on concurrent GetClip / GetImages work (ClientLimitExceededException when full). */
  clipGate?: ConcurrencyGate;
  imagesGate?: ConcurrencyGate;
  stalledWriteTimeoutMs?: number;
}

export function mediaExportRouter(deps: MediaExportDeps): express.Router {
  const router = express.Router({ caseSensitive: true });
  router.post('/getClip', jsonBody(), wrap((req, res) => getClip(deps, req, res)));
  router.post('/getImages', jsonBody(), wrap(async (req, res) => {
    const body = bodyOf(req);
    const stream = await deps.streams.resolve(body);
    const release = deps.imagesGate?.enter();
    try {
      sendJson(res, await deps.images.getImages(stream, body));
    } finally {
      release?.();
    }
  }));
  return router;
}

async function getClip(deps: MediaExportDeps, req: Request, res: Response): Promise<void> {
  const body = bodyOf(req);
  const stream = await deps.streams.resolve(body);
  const release = deps.clipGate?.enter();
  try {
    // Errors up to here are clean 4xx responses; after the 200 a failure can only cut the body.
    const clip = await deps.clips.prepare(stream, body);
    res.status(200).set('content-type', clip.contentType);
    res.flushHeaders();
    const summary = await clip.write(responseSink(res, deps.stalledWriteTimeoutMs));
    deps.log.debug({ stream: stream.name, ...summary }, 'GetClip sent');
    if (!res.writableEnded) res.end();
  } finally {
    release?.();
  }
}

function bodyOf(req: Request): Record<string, unknown> {
  const b: unknown = req.body ?? {};
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw invalidArgument('Request body must be a JSON object.');
  return b as Record<string, unknown>;
}
