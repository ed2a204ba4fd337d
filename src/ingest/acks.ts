/** PutMedia acknowledgement bodies, flat JSON exactly as the producer SDK parses them (kvs-api.md §3.3). */

export type AckEvent =
  | { EventType: 'BUFFERING' | 'RECEIVED' | 'PERSISTED'; FragmentTimecode: number; FragmentNumber: string }
  | { EventType: 'ERROR'; FragmentTimecode: number; FragmentNumber: string; ErrorId: number; ErrorCode: string }
  | { EventType: 'IDLE'; FragmentNumber?: string };

/** One ACK per line; FragmentTimecode stays an unquoted integer, FragmentNumber a quoted string. */
export function formatAck(ack: AckEvent): string {
  return JSON.stringify(ack) + '\n';
}
