import express from 'express';

/**
 * JSON body parser for KVS operations. The SDK always sends application/json, but hand-rolled
 * clients don't; we parse whatever arrives and treat an empty body as {}.
 */
export function jsonBody(): express.RequestHandler {
  return express.json({ type: () => true, limit: '1mb', strict: true });
}
