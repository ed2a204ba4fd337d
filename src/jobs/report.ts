/**
 * The job result report (pure): JSON `{ job, events, frames }` and a flat CSV of the same content.
 *
 * CSV: one header line, then `event` rows (one per tracked person: start/end time, top score, last
 * box) and `frame` rows (one per detection on a sampled frame; a frame without detections has one row
 * with empty box fields). Boxes are normalised (0..1) left/top/width/height.
 */
import type { StoredEvent } from '../events/event-store.ts';
import type { FrameRecord, Job } from './job-types.ts';

export interface ReportEvent {
  id: string;
  trackId: string;
  label: string;
  state: string;
  startTime: number;
  endTime: number | null;
  topScore: number;
  box: StoredEvent['box'];
  zone: string | null;
  fragmentNumbers: string[];
  snapshot: StoredEvent['snapshot'];
}

export interface ReportFrame extends FrameRecord {
  count: number;
}

export interface JobReport {
  job: Job;
  events: ReportEvent[];
  frames: ReportFrame[];
}

export function buildReport(job: Job, events: readonly StoredEvent[], frames: readonly FrameRecord[]): JobReport {
  return {
    job,
    events: events.map((e) => ({
      id: e.id,
      trackId: e.trackId,
      label: e.label,
      state: e.state,
      startTime: e.startTime,
      endTime: e.endTime,
      topScore: e.topScore,
      box: e.box,
      zone: e.zone,
      fragmentNumbers: e.fragmentNumbers,
      snapshot: e.snapshot,
    })),
    frames: frames.map((f) => ({ ...f, count: f.detections.length })),
  };
}

export const CSV_COLUMNS = [
  'kind', 'id', 'time', 'end_time', 'fragment_number', 'detected', 'count', 'label', 'score', 'left', 'top', 'width', 'height',
] as const;

/** RFC 4180 field: quoted when it holds a comma, quote, CR or LF. */
export function csvField(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? (Number.isInteger(v) ? String(v) : String(Math.round(v * 1e6) / 1e6)) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function reportToCsv(r: JobReport): string {
  const rows: Array<Array<string | number | boolean | null>> = [[...CSV_COLUMNS]];
  for (const e of r.events) {
    const n = e.box.normalized;
    rows.push(['event', e.id, iso(e.startTime), iso(e.endTime), e.fragmentNumbers[0] ?? null, null, null, e.label, e.topScore, n.left, n.top, n.width, n.height]);
  }
  for (const f of r.frames) {
    const base = ['frame', null, iso(f.timestampMs), null, f.fragmentNumber, f.detected, f.count] as const;
    if (f.detections.length === 0) rows.push([...base, null, null, null, null, null, null]);
    for (const d of f.detections) {
      const [x1, y1, x2, y2] = d.box;
      rows.push([...base, d.label, d.score, x1, y1, x2 - x1, y2 - y1]);
    }
  }
  return rows.map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** Minimal RFC 4180 parser (quoted fields, doubled quotes, CRLF), for tests and tools. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
