import { describe, expect, it } from 'vitest';
import { InProcessBusHub, InProcessLiveBus, decodeAnnouncement, encodeAnnouncement } from '../../../src/bus/live-bus.ts';
import { announcement, liveBusContract } from '../../support/live-bus-contract.ts';

liveBusContract('in-process', async () => {
  const hub = new InProcessBusHub();
  const handles: InProcessLiveBus[] = [];
  return {
    handle: async () => {
      const h = new InProcessLiveBus(hub);
      handles.push(h);
      return h;
    },
    close: async () => {
      for (const h of handles) await h.close();
    },
  };
});

describe('announcement encoding', () => {
  it('round-trips and refuses malformed payloads', () => {
    const a = announcement(3, 4);
    expect(decodeAnnouncement(encodeAnnouncement(a))).toEqual(a);
    expect(decodeAnnouncement(Buffer.from('not json'))).toBeUndefined();
    expect(decodeAnnouncement(Buffer.from(JSON.stringify({ nodeId: 'x', streamName: 's', record: { streamId: 1, fragmentNumber: '../etc' } })))).toBeUndefined();
    expect(decodeAnnouncement(Buffer.from(JSON.stringify({ ...a, record: { ...a.record, location: null } })))).toBeUndefined();
  });
});
