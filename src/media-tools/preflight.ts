/**
 * Preflight for commands that need ffmpeg (or ffprobe): one clear message with the install hint
 * when the tool is missing, cannot run, or is too old — instead of a raw `spawn ENOENT` or a
 * reconnect loop that can never succeed. The paths come from KESTREL_FFMPEG / KESTREL_FFPROBE.
 */
import { execFile } from 'node:child_process';
import { ffmpegPath, ffprobePath } from './ffmpeg.ts';

/** ffmpeg 5.0 changed RTSP's -timeout to the socket I/O timeout that `kestrel ingest` relies on. */
export const MIN_VERSION = { major: 5, minor: 0 } as const;
export const INSTALL_HINT = 'Install it with: apt-get install ffmpeg';
const VERSION_TIMEOUT_MS = 10_000;

export type MediaTool = 'ffmpeg' | 'ffprobe';

export type ParsedVersion = { major: number; minor: number; text: string } | { git: true; text: string };

/** `ffmpeg version 5.1.9-0+deb12u1 …`, `ffprobe version n6.1 …`, or a git build (`N-112233-gabc…`, taken as new). */
export function parseToolVersion(output: string): ParsedVersion | undefined {
  const m = /^\S+ version (\S+)/m.exec(output);
  if (!m) return undefined;
  const text = m[1]!;
  const release = /^n?(\d+)\.(\d+)/.exec(text);
  if (release) return { major: Number(release[1]), minor: Number(release[2]), text };
  if (/^(N-|git-|\d{4}-\d{2}-\d{2}-git)/.test(text)) return { git: true, text };
  return undefined;
}

/** The problem with a tool's `-version` output, or undefined when it is new enough. */
export function versionProblem(tool: MediaTool, path: string, output: string): string | undefined {
  const v = parseToolVersion(output);
  if (!v) return `${tool} at "${path}" did not report a version Kestrel understands. ${INSTALL_HINT} (or point ${envName(tool)} at it).`;
  if ('git' in v) return undefined;
  if (v.major > MIN_VERSION.major || (v.major === MIN_VERSION.major && v.minor >= MIN_VERSION.minor)) return undefined;
  return `${tool} at "${path}" is version ${v.text}; Kestrel needs ${MIN_VERSION.major}.${MIN_VERSION.minor} or newer. ${INSTALL_HINT} (Debian 12 / Ubuntu 24.04 ship a new enough one), or point ${envName(tool)} at a newer build.`;
}

const envName = (tool: MediaTool) => (tool === 'ffmpeg' ? 'KESTREL_FFMPEG' : 'KESTREL_FFPROBE');

export class PreflightError extends Error {}

/** Runs `<tool> -version` for each tool; throws one PreflightError naming every problem. */
export async function checkMediaTools(tools: readonly MediaTool[]): Promise<void> {
  const problems: string[] = [];
  for (const tool of tools) {
    const path = tool === 'ffmpeg' ? ffmpegPath() : ffprobePath();
    const problem = await new Promise<string | undefined>((resolve) => {
      execFile(path, ['-hide_banner', '-version'], { timeout: VERSION_TIMEOUT_MS, maxBuffer: 1024 * 1024 }, (err, stdout) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
          resolve(`${tool} was not found (looked for "${path}"; ${envName(tool)} sets its path). ${INSTALL_HINT}`);
        } else if (err && !stdout) {
          resolve(`${tool} at "${path}" could not be run (${err.message.split('\n')[0]}). ${INSTALL_HINT}`);
        } else {
          resolve(versionProblem(tool, path, String(stdout)));
        }
      });
    });
    if (problem) problems.push(problem);
  }
  if (problems.length) throw new PreflightError(problems.join('\n'));
}
