/**
 * Pure parts of KVS fragment notifications (kvs-api.md §6.2): where DestinationConfig.Uri points,
 * the SNS message, and the SNS HTTP-subscription envelope used for http(s) destinations and MQTT.
 */
import { kvsFragmentNotification } from '../notify/formats.ts';
import type { FragmentRecord } from '../store/types.ts';

export type NotificationTarget =
  | { kind: 'sns'; topicArn: string; region: string }
  | { kind: 'http'; url: string }
  | { kind: 'unsupported'; uri: string };

const SNS_ARN = /^arn:aws[a-z-]*:sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,256})$/;

/** An SNS topic ARN (standard topics; `.fifo` is refused as KVS does) or a Kestrel http(s) URL. */
export function notificationTarget(uri: string): NotificationTarget {
  const m = SNS_ARN.exec(uri);
  if (m) return { kind: 'sns', topicArn: uri, region: m[1]! };
  if (/^https?:\/\//i.test(uri) && URL.canParse(uri)) return { kind: 'http', url: uri };
  return { kind: 'unsupported', uri };
}

export interface SnsMessage {
  Subject: string;
  /** JSON string, as SNS delivers it. */
  Message: string;
}

/** The KVS notification for one persisted fragment; NotificationPayload = the fragment's other (custom) tags. */
export function fragmentNotification(streamArn: string, f: Pick<FragmentRecord, 'fragmentNumber' | 'producerTimestampMs' | 'serverTimestampMs' | 'tags'>): SnsMessage {
  return kvsFragmentNotification({
    streamArn,
    fragmentNumber: f.fragmentNumber,
    producerTimestamp: Math.round(f.producerTimestampMs),
    serverTimestamp: Math.round(f.serverTimestampMs),
    payload: { ...f.tags },
  });
}

/** What an SNS HTTP/S subscription endpoint receives for a notification (unsigned: no Signature fields). */
export interface SnsHttpNotification {
  Type: 'Notification';
  MessageId: string;
  TopicArn: string;
  Subject: string;
  Message: string;
  Timestamp: string;
}

export function snsHttpNotification(o: { messageId: string; topicArn: string; message: SnsMessage; timestampMs: number }): SnsHttpNotification {
  return {
    Type: 'Notification',
    MessageId: o.messageId,
    TopicArn: o.topicArn,
    Subject: o.message.Subject,
    Message: o.message.Message,
    Timestamp: new Date(o.timestampMs).toISOString(),
  };
}

/** TopicArn reported for destinations that are not SNS topics (http(s) URLs). */
export function syntheticTopicArn(region: string, accountId: string): string {
  return `arn:aws:sns:${region}:${accountId}:kestrel-kvs-notifications`;
}

/** MQTT mirror topic of a stream's notifications. */
export function notificationMqttTopic(stream: string, prefix = 'kestrel'): string {
  return `${prefix}/kvs-notifications/${stream}`;
}
