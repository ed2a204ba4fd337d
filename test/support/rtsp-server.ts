/**
 * A local RTSP "camera" for ingest tests: gst-rtsp-server via Debian's /usr/bin/python3 (the python3
 * on PATH may lack gi), serving an H.264 MKV without B-frames (ffmpeg's RTSP pull needs that).
 * stop() then start() reuses the same port, so a test can drop the camera mid-stream.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

export const RTSP_PYTHON = process.env.KESTREL_RTSP_PYTHON ?? '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./rtsp_server.py', import.meta.url));

/** True when python3-gi and gst-rtsp-server are installed (tests skip otherwise). */
export function rtspServerAvailable(): boolean {
  const check = "import gi; gi.require_version('Gst','1.0'); gi.require_version('GstRtspServer','1.0'); from gi.repository import GstRtspServer";
  return spawnSync(RTSP_PYTHON, ['-c', check], { stdio: 'ignore', timeout: 20_000 }).status === 0;
}

export interface RtspServer {
  /** rtsp://127.0.0.1:PORT/MOUNT */
  url: string;
  port: number;
  running(): boolean;
  /** Starts (again) on the same port; resolves once it is listening. */
  start(): Promise<void>;
  /** Stops the server; `hard` uses SIGKILL (power loss) instead of SIGTERM. */
  stop(opts?: { hard?: boolean }): Promise<void>;
}

export interface RtspServerOptions {
  /** H.264 Matroska file without B-frames; each client session plays it from the start. */
  file: string;
  port?: number;
  /** Mount path, default "/cam". */
  mount?: string;
}

export async function startRtspServer(opts: RtspServerOptions): Promise<RtspServer> {
  const port = opts.port ?? (await freePort());
  const mount = opts.mount ?? '/cam';
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    if (child) throw new Error('RTSP server already running');
    // The old socket may linger for a moment after a stop; retry the bind briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        child = await launch(opts.file, port, mount);
        return;
      } catch (err) {
        if (attempt >= 10) throw err;
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  };

  const stop = async ({ hard = false } = {}): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill(hard ? 'SIGKILL' : 'SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
  };

  await start();
  return {
    url: `rtsp://127.0.0.1:${port}${mount}`,
    port,
    running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    start,
    stop,
  };
}

/** Spawns the script and waits for its "READY <port>" line. */
function launch(file: string, port: number, mount: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(RTSP_PYTHON, [SCRIPT, '--file', file, '--port', String(port), '--mount', mount], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`RTSP server did not start within 15s: ${err.trim()}`));
    }, 15_000);
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('READY')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`RTSP server exited with code ${code}: ${err.trim()}`));
    });
  });
}

/** Asks the OS for a free loopback port (a tiny race with other processes is acceptable in tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
