import { describe, expect, it } from 'vitest';
import { pointInPolygon, validateZone, zonesForBox, type Zone } from '../../../src/detect/zones.ts';

const door: Zone = { name: 'door', points: [[0, 0.5], [0.5, 0.5], [0.5, 1], [0, 1]] };
const tri: Zone = { name: 'tri', points: [[0.5, 0], [1, 1], [0, 1]] };

describe('zones', () => {
  it('point in polygon (even-odd)', () => {
    expect(pointInPolygon(0.25, 0.75, door.points)).toBe(true);
    expect(pointInPolygon(0.75, 0.75, door.points)).toBe(false);
    expect(pointInPolygon(0.5, 0.5, tri.points)).toBe(true);
    expect(pointInPolygon(0.1, 0.2, tri.points)).toBe(false);
  });
  it('no zones = whole frame', () => {
    expect(zonesForBox([0.1, 0.1, 0.2, 0.2], [])).toEqual(['*']);
  });
  it('counts the bottom-centre of the box, not its overlap', () => {
    // Box mostly above the door zone, feet inside it.
    expect(zonesForBox([0.05, 0.1, 0.25, 0.6], [door, tri])).toEqual(['door']);
    // Box overlapping the zone but feet outside.
    expect(zonesForBox([0.4, 0.5, 0.9, 0.45], [door])).toEqual([]);
    // Feet on the bottom edge still count.
    expect(zonesForBox([0.35, 0.2, 0.55, 1], [door, tri]).sort()).toEqual(['door', 'tri']);
  });
  it('validates', () => {
    expect(validateZone(door)).toBeUndefined();
    expect(validateZone({ name: 'x', points: [[0, 0], [1, 1]] })).toMatch(/3 points/);
    expect(validateZone({ name: 'x', points: [[0, 0], [2, 1], [0, 1]] })).toMatch(/normalised/);
  });
});
