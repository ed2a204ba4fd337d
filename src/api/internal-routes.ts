/**
 * Node-to-node endpoint (edge-pull): one locally readable fragment's MKV header and body, by
 * stream id and fragment number. Mounted before the user authentication middleware: it takes
 * only a node token (auth/node-token.ts, from the shared server key), never user credentials.
 */
import express, { type Router } from 'express';
import { nodeTokenProblem, NODE_TOKEN_HEADER } from '../auth/node-token.ts';
import { HEADER_LENGTH_HEADER } from '../cluster/peer-client.ts';
import { FRAGMENT_NUMBER_PATTERN } from '../shared/fragment-number.ts';
import type { FragmentBytesSource } from '../store/fragment-bytes.ts';
import type { FragmentIndex } from '../store/types.ts';
import type { Logger } from '../shared/logger.ts';

export function internalRouter(deps: { internalKey: Buffer; index: FragmentIndex; bytes: FragmentBytesSource; now: () => number; log: Logger }): Router {
  const router = express.Router();
  router.get('/internal/v1/streams/:streamId/fragments/:fragmentNumber', (req, res, next) => {
    const problem = nodeTokenProblem(deps.internalKey, 'GET', req.path, req.get(NODE_TOKEN_HEADER), deps.now());
    if (problem) {
      deps.log.warn({ path: req.path, ip: req.ip, problem }, 'internal request refused');
      res.status(403).json({ message: problem });
      return;
    }
    const streamId = Number(req.params.streamId);
    const fragmentNumber = req.params.fragmentNumber;
    if (!Number.isSafeInteger(streamId) || !FRAGMENT_NUMBER_PATTERN.test(fragmentNumber)) {
      res.status(400).json({ message: 'bad stream id or fragment number' });
      return;
    }
    void (async () => {
      const record = await deps.index.get(streamId, fragmentNumber);
      if (!record) {
        res.status(404).json({ message: 'no such fragment' });
        return;
      }
      const { header, body } = await deps.bytes.read(record);
      res.set({ 'content-type': 'application/octet-stream', [HEADER_LENGTH_HEADER]: String(header.length), 'content-length': String(header.length + body.length) });
      res.write(header);
      res.end(body);
    })().catch(next);
  });
  // Anything else under /internal/ without a valid token is refused here too, never shown to user auth.
  router.use('/internal/', (_req, res) => {
    res.status(404).json({ message: 'unknown internal route' });
  });
  return router;
}
