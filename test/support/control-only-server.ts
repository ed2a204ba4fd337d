import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { controlPlaneRouter } from '../../src/api/control-routes.ts';
import { errorHandler, requestId, sendKvsError } from '../../src/api/respond.ts';
import { StreamService, type StreamServiceOptions } from '../../src/control/stream-service.ts';
import { KvsError } from '../../src/shared/errors.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { systemClock } from '../../src/shared/clock.ts';
import { openSqlite } from '../../src/store/sqlite-db.ts';
import { SqliteStreamRepository } from '../../src/store/sqlite-streams.ts';

export interface ControlOnlyServer {
  url: string;
  service: StreamService;
  close(): Promise<void>;
}

/**
 * The control plane alone (in-memory SQLite, no ingest or archive), wired like app.ts. For fast tests of
 * stream bookkeeping that do not need media; full-stack tests use startTestServer().
 */
export async function startControlOnlyServer(
  overrides: Partial<StreamServiceOptions> = {},
): Promise<ControlOnlyServer> {
  const db = openSqlite(':memory:');
  let baseUrl = '';
  const service = new StreamService({
    repo: new SqliteStreamRepository(db),
    clock: systemClock,
    region: 'us-east-1',
    accountId: '000000000000',
    dataEndpoint: () => baseUrl,
    ...overrides,
  });
  const app = express();
  app.use(requestId);
  app.use(controlPlaneRouter(service));
  app.use((_req, res) => sendKvsError(res, new KvsError('UnknownOperationException', 'Unknown operation.')));
  app.use(errorHandler(silentLogger()));
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: baseUrl,
    service,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      db.close();
    },
  };
}
