/** Reading HLS playlists in tests: fetch, resolve the media playlist, parse segments and LL-HLS parts. */
import { expect } from 'vitest';

export async function text(url: string): Promise<string> {
  const res = await fetch(url);
  expect(res.status, await res.clone().text()).toBe(200);
  return res.text();
}

/** The media playlist URL of a (single-rendition) master playlist. */
export const mediaPlaylistUrl = (master: string, masterUrl: string): string => new URL(master.trim().split('\n').at(-1)!, masterUrl).toString();

export interface ParsedPlaylist {
  text: string;
  ended: boolean;
  segments: Array<{ msn: number; fragmentNumber: string }>;
}

export function parsePlaylist(text: string): ParsedPlaylist {
  const lines = text.split('\n');
  let msn = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)![1]);
  const segments: ParsedPlaylist['segments'] = [];
  for (const l of lines) {
    const m = /^get(?:MP4MediaFragment\.mp4|TSFragment\.ts)\?FragmentNumber=(\d+)/.exec(l);
    if (m) segments.push({ msn: msn++, fragmentNumber: m[1]! });
  }
  return { text, ended: text.includes('#EXT-X-ENDLIST'), segments };
}

export interface LlPlaylist {
  text: string;
  map?: string;
  segments: Array<{ msn: number }>;
  parts: Array<{ msn: number; part: number; uri: string; durationSec: number }>;
  last: { msn: number; part: number };
}

export function parseLl(text: string): LlPlaylist {
  let msn = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)![1]);
  const out: LlPlaylist = { text, segments: [], parts: [], last: { msn, part: -1 } };
  for (const l of text.split('\n')) {
    const part = /^#EXT-X-PART:DURATION=([\d.]+),URI="([^"]+)"/.exec(l);
    if (part) {
      const p = { msn, part: Number(/Part=(\d+)/.exec(part[2]!)![1]), uri: part[2]!, durationSec: Number(part[1]) };
      out.parts.push(p);
      out.last = { msn, part: p.part };
    }
    const map = /^#EXT-X-MAP:URI="([^"]+)"/.exec(l);
    if (map) out.map = map[1]!;
    if (l.startsWith('getMP4MediaFragment.mp4')) out.segments.push({ msn: msn++ });
  }
  return out;
}
