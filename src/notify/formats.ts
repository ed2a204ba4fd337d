/**
 * Pure mappers to the AWS shapes of kvs-api.md §6, so consumers written for Rekognition connected-home
 * or KVS fragment notifications keep working (use as WebhookNotifier `body`).
 */
import type { DetectionEvent } from '../events/types.ts';

export interface RekognitionOptions {
  sessionId?: string;
  tags?: Record<string, string>;
  /** s3:// URIs of the hero frame and crop, when stored in S3. */
  frameImageUri?: string;
  croppedImageUri?: string;
}

/** Rekognition stream-processor `LABEL_DETECTED` SNS notification for a person event. */
export function rekognitionLabelDetected(event: DetectionEvent, o: RekognitionOptions = {}): { Subject: string; Message: Record<string, unknown> } {
  const b = event.box.normalized;
  const label: Record<string, unknown> = {
    id: event.id,
    name: 'PERSON',
    videoMapping: {
      kinesisVideoMapping: {
        fragmentNumber: event.after.fragmentNumber,
        serverTimestamp: event.serverTimestamp,
        producerTimestamp: event.producerTimestamp,
        frameOffsetMillis: Math.max(0, event.frameTime - event.producerTimestamp),
      },
    },
    boundingBox: { left: b.left, top: b.top, height: b.height, width: b.width },
  };
  if (o.frameImageUri) label.frameImageUri = o.frameImageUri;
  if (o.croppedImageUri) label.croppedImageUri = o.croppedImageUri;
  return {
    Subject: 'Rekognition Stream Processing Event',
    Message: {
      inputInformation: { kinesisVideo: { streamArn: event.stream.arn } },
      eventNamespace: { type: 'LABEL_DETECTED' },
      labels: [label],
      eventId: event.id,
      tags: o.tags ?? {},
      sessionId: o.sessionId ?? event.id,
    },
  };
}

export interface FragmentNotificationInput {
  streamArn: string;
  fragmentNumber: string;
  producerTimestamp: number;
  serverTimestamp: number;
  /** Fragment tags other than AWS_KINESISVIDEO_NOTIFICATION. */
  payload?: Record<string, string>;
}

/** KVS UpdateNotificationConfiguration SNS message (Message is a JSON string, as SNS delivers it). */
export function kvsFragmentNotification(f: FragmentNotificationInput): { Subject: string; Message: string } {
  return {
    Subject: 'Kinesis Video Streams Notification',
    Message: JSON.stringify({
      StreamArn: f.streamArn,
      FragmentNumber: f.fragmentNumber,
      FragmentStartProducerTimestamp: f.producerTimestamp,
      FragmentStartServerTimestamp: f.serverTimestamp,
      NotificationType: 'PERSISTED',
      NotificationPayload: f.payload ?? {},
    }),
  };
}
