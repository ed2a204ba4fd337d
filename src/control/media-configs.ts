/**
 * ImageGenerationConfiguration and NotificationConfiguration (kvs-api.md §6.1, §6.2). They are validated
 * here, then stored and returned exactly as given: only known members are kept, no defaults are added,
 * so Describe* round-trips what Update* sent. The consumer worker reads them from the stream record.
 */
import type { Fields, StringRule } from './validate.ts';

export interface ImageGenerationConfiguration {
  Status: 'ENABLED' | 'DISABLED';
  ImageSelectorType: 'SERVER_TIMESTAMP' | 'PRODUCER_TIMESTAMP';
  DestinationConfig: { Uri: string; DestinationRegion: string };
  /** Milliseconds between images. */
  SamplingInterval: number;
  Format: 'JPEG' | 'PNG';
  FormatConfig?: { JPEGQuality?: string };
  WidthPixels?: number;
  HeightPixels?: number;
}

export interface NotificationConfiguration {
  Status: 'ENABLED' | 'DISABLED';
  DestinationConfig: { Uri: string };
}

const STATUSES = ['ENABLED', 'DISABLED'] as const;
const SELECTOR_TYPES = ['SERVER_TIMESTAMP', 'PRODUCER_TIMESTAMP'] as const;
const FORMATS = ['JPEG', 'PNG'] as const;
const FORMAT_CONFIG_KEYS = ['JPEGQuality'] as const;

/** DestinationConfig.Uri in the AWS model (s3://bucket/prefix, an SNS ARN, ...). */
const DESTINATION_URI: StringRule = { min: 1, max: 255, pattern: /[a-zA-Z_0-9]+:(\/\/)?([^/]+)\/?([^*]*)/ };
const REGION: StringRule = { min: 9, max: 32, pattern: /[a-z]+(-[a-z]+)?-[a-z]+-[0-9]/ };
const JPEG_QUALITY: StringRule = { min: 1, max: 3, pattern: /[1-9][0-9]?|100/ };
export const SAMPLING_INTERVAL = { min: 200, max: 20_000 };
const WIDTH = { min: 1, max: 3840 };
const HEIGHT = { min: 1, max: 2160 };

/**
 * Reads UpdateImageGenerationConfiguration's member. Absent or null means "delete" (returns null).
 * `streamRegion`: KVS delivers images only to a bucket in the stream's own region.
 */
export function parseImageGenerationConfig(body: Fields, streamRegion: string): ImageGenerationConfiguration | null {
  const f = body.optObject('ImageGenerationConfiguration');
  if (!f) return null;
  const status = f.reqEnum('Status', STATUSES);
  const selectorType = f.reqEnum('ImageSelectorType', SELECTOR_TYPES);
  const dest = f.reqObject('DestinationConfig');
  const uri = dest.reqString('Uri', DESTINATION_URI);
  const destinationRegion = dest.reqString('DestinationRegion', REGION);
  if (destinationRegion !== streamRegion) {
    throw dest.bad('DestinationRegion', `must be the stream's region (${streamRegion})`);
  }
  const config: ImageGenerationConfiguration = {
    Status: status,
    ImageSelectorType: selectorType,
    DestinationConfig: { Uri: uri, DestinationRegion: destinationRegion },
    SamplingInterval: f.reqInt('SamplingInterval', SAMPLING_INTERVAL),
    Format: f.reqEnum('Format', FORMATS),
  };
  const formatConfig = parseFormatConfig(f);
  if (formatConfig) config.FormatConfig = formatConfig;
  const width = f.optInt('WidthPixels', WIDTH);
  if (width !== undefined) config.WidthPixels = width;
  const height = f.optInt('HeightPixels', HEIGHT);
  if (height !== undefined) config.HeightPixels = height;
  return config;
}

/** Reads UpdateNotificationConfiguration's member. Absent or null means "delete" (returns null). */
export function parseNotificationConfig(body: Fields): NotificationConfiguration | null {
  const f = body.optObject('NotificationConfiguration');
  if (!f) return null;
  return {
    Status: f.reqEnum('Status', STATUSES),
    DestinationConfig: { Uri: f.reqObject('DestinationConfig').reqString('Uri', DESTINATION_URI) },
  };
}

/** FormatConfig is a map whose only key is JPEGQuality, a string "1".."100". */
function parseFormatConfig(f: Fields): { JPEGQuality?: string } | undefined {
  const fc = f.optObject('FormatConfig');
  if (!fc) return undefined;
  for (const key of Object.keys(fc.obj)) {
    if (!(FORMAT_CONFIG_KEYS as readonly string[]).includes(key)) {
      throw fc.bad(key, `is not a FormatConfig key (allowed: ${FORMAT_CONFIG_KEYS.join(', ')})`);
    }
  }
  const quality = fc.optString('JPEGQuality', JPEG_QUALITY);
  return quality === undefined ? {} : { JPEGQuality: quality };
}
