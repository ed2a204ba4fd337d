/**
 * Per-stream detection config (Kestrel addition):
 *
 *   GET    /api/v1/streams/:name/detection   effective config, the source of each value, the API override
 *   PUT    /api/v1/streams/:name/detection   JSON Partial<DetectConfig>: replaces the override
 *   PATCH  /api/v1/streams/:name/detection   JSON Partial<DetectConfig>: merged into the override
 *   DELETE /api/v1/streams/:name/detection   removes the override (file/defaults apply again)
 *
 * A change applies to the running stream at once (its pipeline restarts from its checkpoint).
 * Errors: 404 unknown stream, 400 `{ message }` for a bad body.
 */
import express, { type Request, type Response } from 'express';
import { wrap, jsonBodyErrors } from './respond.ts';
import { DetectConfigError, type DetectConfigService } from '../detect/detect-config-service.ts';

export interface DetectionConfigRouteDeps {
  config: DetectConfigService;
  streamExists(name: string): Promise<boolean>;
}

export function detectionConfigRouter(deps: DetectionConfigRouteDeps): express.Router {
  const router = express.Router({ caseSensitive: true });
  const json = express.json({ limit: '256kb', strict: false, type: () => true });

  const route = (h: (name: string, req: Request, res: Response) => Promise<void>): ((req: Request, res: Response) => Promise<void>) => async (req, res) => {
    const name = String(req.params.name);
    if (!(await deps.streamExists(name))) {
      res.status(404).json({ message: `stream ${name} not found` });
      return;
    }
    try {
      await h(name, req, res);
    } catch (err) {
      if (err instanceof DetectConfigError) res.status(400).json({ message: err.message });
      else throw err;
    }
  };
  const bodyOf = (req: Request): unknown => (req.body as unknown) ?? {};

  const path = '/api/v1/streams/:name/detection';
  router.get(path, wrap(route(async (name, _req, res) => void res.set('cache-control', 'no-store').json(await deps.config.get(name)))));
  router.put(path, json, wrap(route(async (name, req, res) => void res.json(await deps.config.set(name, bodyOf(req))))));
  router.patch(path, json, wrap(route(async (name, req, res) => void res.json(await deps.config.set(name, bodyOf(req), true)))));
  router.delete(path, wrap(route(async (name, _req, res) => void res.json(await deps.config.clear(name)))));
  // express.json parse errors (bad JSON) → 400 with a message instead of the KVS error handler.
  router.use(path, jsonBodyErrors);
  return router;
}
