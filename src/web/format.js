// Formatting helpers for the viewer: times, durations, sizes, bitrates. Pure functions, no DOM.

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** "14:03:07" in the viewer's local time. */
export function clock(ms, withSeconds = true) {
  const d = new Date(ms);
  return withSeconds ? `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` : `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** "Tue 26 Nov 14:03:07", or just the clock time when `ms` is today. */
export function dateTime(ms, nowMs = Date.now()) {
  const d = new Date(ms);
  if (sameDay(ms, nowMs)) return clock(ms);
  const day = d.toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short' });
  return `${day} ${clock(ms)}`;
}

export function sameDay(a, b) {
  const x = new Date(a);
  const y = new Date(b);
  return x.getFullYear() === y.getFullYear() && x.getMonth() === y.getMonth() && x.getDate() === y.getDate();
}

/** Local midnight of the day containing `ms`. */
export function startOfDay(ms) {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** "3 s", "2 min 5 s", "1 h 20 min", "2 d 3 h". */
export function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** "just now", "12 s ago", "5 min ago", "yesterday 18:02", ... */
export function ago(ms, nowMs) {
  const diff = nowMs - ms;
  if (diff < 2000) return 'just now';
  if (diff < 3_600_000) return `${duration(diff)} ago`;
  if (sameDay(ms, nowMs)) return `at ${clock(ms, false)}`;
  return dateTime(ms, nowMs);
}

export function bytes(n) {
  if (n == null || !Number.isFinite(n)) return '–';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

export function bitrate(bps) {
  if (bps == null || !Number.isFinite(bps)) return '–';
  if (bps < 1000) return `${Math.round(bps)} bit/s`;
  if (bps < 1_000_000) return `${Math.round(bps / 1000)} kbit/s`;
  return `${(bps / 1_000_000).toFixed(bps < 10_000_000 ? 2 : 1)} Mbit/s`;
}

export function count(n) {
  return new Intl.NumberFormat().format(n);
}

/** Retention as the control plane stores it, in hours. */
export function retention(hours) {
  if (!hours) return 'Not retained';
  if (hours % 24 === 0) return `${hours / 24} d retention`;
  return `${hours} h retention`;
}

/** `name-YYYYMMDD-HHMMSS.ext` in local time, safe as a file name. */
export function fileStamp(name, ms, ext) {
  const d = new Date(ms);
  const stamp = `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}-${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
  return `${name.replace(/[^A-Za-z0-9_.-]+/g, '_')}-${stamp}.${ext}`;
}

/** Value for <input type="datetime-local"> in local time. */
export function toLocalInput(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fromLocalInput(value) {
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms : null;
}
