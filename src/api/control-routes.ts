/**
 * Control-plane HTTP edge (kvs-api.md §2.1): every operation is POST <fixed path> with a JSON body.
 * Paths are case-sensitive: lowerCamel, except the three generic tagging operations (PascalCase).
 * This file only parses, calls StreamService and writes JSON; validation lives in the service.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { StreamService } from '../control/stream-service.ts';
import { KvsError, invalidArgument } from '../shared/errors.ts';
import { jsonBody } from './json-body.ts';
import type { CallLimiter } from './admission.ts';
import { sendJson } from './respond.ts';

type Operation = (service: StreamService, body: unknown) => Promise<object>;

const OPERATIONS: Record<string, Operation> = {
  '/createStream': (s, b) => s.createStream(b),
  '/describeStream': (s, b) => s.describeStream(b),
  '/listStreams': (s, b) => s.listStreams(b),
  '/deleteStream': (s, b) => s.deleteStream(b),
  '/updateStream': (s, b) => s.updateStream(b),
  '/updateDataRetention': (s, b) => s.updateDataRetention(b),
  '/getDataEndpoint': (s, b) => s.getDataEndpoint(b),
  '/tagStream': (s, b) => s.tagStream(b),
  '/untagStream': (s, b) => s.untagStream(b),
  '/listTagsForStream': (s, b) => s.listTagsForStream(b),
  '/TagResource': (s, b) => s.tagResource(b),
  '/UntagResource': (s, b) => s.untagResource(b),
  '/ListTagsForResource': (s, b) => s.listTagsForResource(b),
  '/describeImageGenerationConfiguration': (s, b) => s.describeImageGenerationConfiguration(b),
  '/updateImageGenerationConfiguration': (s, b) => s.updateImageGenerationConfiguration(b),
  '/describeNotificationConfiguration': (s, b) => s.describeNotificationConfiguration(b),
  '/updateNotificationConfiguration': (s, b) => s.updateNotificationConfiguration(b),
  '/describeStreamStorageConfiguration': (s, b) => s.describeStreamStorageConfiguration(b),
  '/updateStreamStorageConfiguration': (s, b) => s.updateStreamStorageConfiguration(b),
};

/** The rest of the KVS control plane (signaling, WebRTC storage, edge agent): answered at once, never hung. */
export const NOT_IMPLEMENTED_OPERATIONS = [
  'CreateSignalingChannel',
  'DescribeSignalingChannel',
  'ListSignalingChannels',
  'UpdateSignalingChannel',
  'DeleteSignalingChannel',
  'GetSignalingChannelEndpoint',
  'DescribeMediaStorageConfiguration',
  'UpdateMediaStorageConfiguration',
  'DescribeMappedResourceConfiguration',
  'StartEdgeConfigurationUpdate',
  'DescribeEdgeConfiguration',
  'DeleteEdgeConfiguration',
  'ListEdgeAgentConfigurations',
] as const;

export function controlPlaneRouter(service: StreamService, calls?: CallLimiter): express.Router {
  const router = express.Router({ caseSensitive: true });
  const parseJson = jsonBody();

  for (const [path, operation] of Object.entries(OPERATIONS)) {
    router.post(path, parseJson, (req: Request, res: Response, next: NextFunction) => {
      // KVS: GetDataEndpoint is limited to 5 TPS per stream.
      const target = (req.body as { StreamName?: unknown; StreamARN?: unknown } | undefined) ?? {};
      if (calls && path === '/getDataEndpoint') {
        try {
          calls.check('GetDataEndpoint', String(target.StreamName ?? target.StreamARN ?? ''));
        } catch (err) {
          next(err);
          return;
        }
      }
      operation(service, req.body ?? {})
        .then((out) => sendJson(res, out))
        .catch(next);
    });
  }

  for (const name of NOT_IMPLEMENTED_OPERATIONS) {
    const path = `/${name.charAt(0).toLowerCase()}${name.slice(1)}`;
    router.post(path, (_req: Request, _res: Response, next: NextFunction) => {
      next(new KvsError('NotImplementedException', `Kestrel does not implement ${name}.`));
    });
  }

  router.use(bodyParserErrors);
  return router;
}

/**
 * The JSON parser reports client mistakes (bad JSON, too large, unsupported charset or encoding) as
 * http-errors with a 4xx status; they are the caller's invalid argument, not our internal failure.
 */
function bodyParserErrors(err: unknown, _req: Request, _res: Response, next: NextFunction): void {
  const e = err as { status?: unknown; type?: unknown; message?: unknown } | null;
  if (err instanceof KvsError || typeof e?.type !== 'string' || typeof e.status !== 'number' || e.status >= 500) {
    next(err);
    return;
  }
  if (e.type === 'entity.parse.failed') next(invalidArgument('Request body is not valid JSON.'));
  else if (e.type === 'entity.too.large') next(invalidArgument('Request body is larger than 1 MB.'));
  else next(invalidArgument(`Request body could not be read: ${String(e.message)}`));
}
