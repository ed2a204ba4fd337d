/** Zones: polygons in normalised [0,1] coordinates. Pure. */
import type { NormBox } from './types.ts';

export interface Zone {
  name: string;
  /** [x, y] vertices, normalised to the frame (0..1), at least 3. */
  points: Array<[number, number]>;
}

/** Even-odd ray casting; points on an edge count as inside for horizontal/vertical edges only approximately. */
export function pointInPolygon(x: number, y: number, points: ReadonlyArray<readonly [number, number]>): boolean {
  let inside = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const [xi, yi] = points[i]!;
    const [xj, yj] = points[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** The anchor a person "stands on": bottom-centre of the box. */
export function boxAnchor(box: NormBox): [number, number] {
  return [(box[0] + box[2]) / 2, box[3]];
}

/**
 * Names of the zones the box is in (bottom-centre inside). With no zones configured the whole frame is
 * one implicit zone and the result is `['*']`; an empty result means "outside every zone".
 */
export function zonesForBox(box: NormBox, zones: readonly Zone[]): string[] {
  if (zones.length === 0) return ['*'];
  const [x, y] = boxAnchor(box);
  // A box touching the bottom edge has y = 1; nudge so edge-aligned zones still contain it.
  const yy = Math.min(y, 1 - 1e-9);
  return zones.filter((z) => pointInPolygon(x, yy, z.points)).map((z) => z.name);
}

export function validateZone(z: Zone): string | undefined {
  if (!z.name) return 'zone needs a name';
  if (z.points.length < 3) return `zone ${z.name}: needs at least 3 points`;
  for (const [x, y] of z.points) if (!(x >= 0 && x <= 1 && y >= 0 && y <= 1)) return `zone ${z.name}: points must be normalised to 0..1`;
  return undefined;
}
