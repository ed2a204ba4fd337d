/**
 * Benchmark child: Kestrel with in-process detection (`serve --detect`), on an ephemeral loopback port.
 * argv: <dataDir> <JSON DetectionSettings without `enabled`>. Prints {"url","pid"} when listening.
 */
import type { DetectionSettings } from '../src/app-detection.ts';
import { KestrelServer } from '../src/app.ts';
import { defaultConfig } from '../src/config.ts';
import { silentLogger } from '../src/shared/logger.ts';
import { benchAuth } from './lib/auth.ts';
import { serveUntilTerminated } from './lib/child-server.ts';

const [dataDir, settingsJson] = process.argv.slice(2);
if (!dataDir) throw new Error('usage: detect-server-child.ts <dataDir> [settings JSON]');
const detection: DetectionSettings = { ...(JSON.parse(settingsJson ?? '{}') as Omit<DetectionSettings, 'enabled'>), enabled: true };

const server = await KestrelServer.start({ ...defaultConfig({ port: 0, host: '127.0.0.1', dataDir, auth: benchAuth() }), detection }, silentLogger());
serveUntilTerminated(server);
