/**
 * The KVS control plane for streams (kvs-api.md §2). One method per operation: it takes the parsed JSON
 * request body, validates every member like KVS, and returns the response body. No HTTP here; errors are
 * KvsErrors that the api layer turns into status + x-amzn-ErrorType.
 */
import { KvsError, invalidArgument, streamNotFound, type KvsErrorName } from '../shared/errors.ts';
import { writeWithRetry } from './optimistic-write.ts';
import type { Clock } from '../shared/clock.ts';
import type { StreamRecord, StreamRepository } from '../store/types.ts';
import { newVersion, toStreamInfo, type StreamInfo } from './stream-info.ts';
import { parseImageGenerationConfig, parseNotificationConfig } from './media-configs.ts';
import { decodePageToken, encodePageToken } from './page-token.ts';
import { mergeTags, parseTagKeys, parseTagList, parseTagMap, removeTags } from './tags.ts';
import {
  API_NAMES,
  DEVICE_NAME,
  Fields,
  KMS_KEY_ID,
  MAX_RETENTION_HOURS,
  MEDIA_TYPE,
  NEXT_TOKEN,
  RESOURCE_ARN,
  RETENTION,
  STORAGE_TIERS,
  STREAM_ARN,
  STREAM_NAME,
  VERSION,
} from './validate.ts';

export interface StreamServiceOptions {
  repo: StreamRepository;
  clock: Clock;
  region: string;
  accountId: string;
  /**
   * Base URL for a data-plane APIName on a stream (its owner's node; for PUT_MEDIA on an unowned
   * stream the least-loaded node); asked per call because the port is known only after listen.
   */
  dataEndpoint: (stream: StreamRecord, apiName: string) => string | Promise<string>;
  /** Drops the stream's live feed, index and media before its row goes. If it throws, the stream stays ACTIVE. */
  onStreamDeleted?: (stream: StreamRecord) => Promise<void>;
  /** AccountStreamLimitExceededException beyond this many streams (KVS default soft limit: 10000). */
  maxStreams?: number;
  /** Allow-list for DestinationConfig.Uri set through the API (src/outbound/); refusal → InvalidArgumentException. */
  checkDestination?: (uri: string) => { ok: true } | { ok: false; reason: string };
}

/** Reference to a stream by name or ARN, as data-plane requests carry it. */
export interface StreamRef {
  StreamName?: unknown;
  StreamARN?: unknown;
}

type Empty = Record<string, never>;

const DEFAULT_MAX_STREAMS = 10_000;
const RETENTION_OPERATIONS = ['INCREASE_DATA_RETENTION', 'DECREASE_DATA_RETENTION'] as const;
/**
 * Read-check-write attempts when another writer (request or node) saves the stream in between; after
 * the last one the conflict surfaces as VersionMismatchException. A short random pause between
 * attempts spreads writers that collided, so a burst on one stream settles in a few rounds.
 */

export class StreamService {
  private readonly maxStreams: number;

  constructor(private readonly opts: StreamServiceOptions) {
    this.maxStreams = opts.maxStreams ?? DEFAULT_MAX_STREAMS;
  }

  // ---- lookups used by the data plane ----

  /** Finds a stream by exactly one of StreamName / StreamARN; 404 ResourceNotFoundException if absent. */
  async resolve(ref: StreamRef): Promise<StreamRecord> {
    return this.find(Fields.of(ref));
  }

  async getById(id: number): Promise<StreamRecord | undefined> {
    return this.opts.repo.getById(id);
  }

  // ---- streams ----

  async createStream(input: unknown): Promise<{ StreamARN: string }> {
    const f = Fields.of(input);
    const name = f.reqString('StreamName', STREAM_NAME);
    const deviceName = f.optString('DeviceName', DEVICE_NAME) ?? null;
    const mediaType = f.optString('MediaType', MEDIA_TYPE) ?? null;
    const kmsKeyId = f.optString('KmsKeyId', KMS_KEY_ID) ?? this.defaultKmsKeyId();
    const retention = f.optInt('DataRetentionInHours', RETENTION) ?? 0;
    const tags = mergeTags({}, parseTagMap(f, 'Tags') ?? new Map());
    const storageTier = f.optObject('StreamStorageConfiguration')?.reqEnum('DefaultStorageTier', STORAGE_TIERS) ?? 'HOT';

    // The name's uniqueness is the repository's (a unique key: ResourceInUseException even when two
    // nodes create it at once). The stream limit is a soft one: concurrent creates may pass it by a few.
    if (await this.opts.repo.getByName(name)) {
      throw new KvsError('ResourceInUseException', `The stream ${name} already exists.`);
    }
    if ((await this.opts.repo.count()) >= this.maxStreams) {
      throw new KvsError('AccountStreamLimitExceededException', `This account already has ${this.maxStreams} streams.`);
    }
    const creationTimeMs = Math.floor(this.opts.clock.now());
    const rec = await this.opts.repo.create({
      name,
      arn: `arn:aws:kinesisvideo:${this.opts.region}:${this.opts.accountId}:stream/${name}/${creationTimeMs}`,
      version: newVersion(),
      // Created synchronously, so already ACTIVE; producers poll for exactly this.
      status: 'ACTIVE',
      creationTimeMs,
      dataRetentionInHours: retention,
      mediaType,
      deviceName,
      kmsKeyId,
      tags,
      storageTier,
      imageGenerationConfig: null,
      notificationConfig: null,
    });
    return { StreamARN: rec.arn };
  }

  async describeStream(input: unknown): Promise<{ StreamInfo: StreamInfo }> {
    return { StreamInfo: toStreamInfo(await this.find(Fields.of(input))) };
  }

  async listStreams(input: unknown): Promise<{ StreamInfoList: StreamInfo[]; NextToken?: string }> {
    const f = Fields.of(input);
    const limit = f.optInt('MaxResults', { min: 1, max: 10_000 }) ?? 10_000;
    const token = f.optString('NextToken', NEXT_TOKEN);
    const condition = f.optObject('StreamNameCondition');
    condition?.optEnum('ComparisonOperator', ['BEGINS_WITH']);
    const prefix = condition?.optString('ComparisonValue', STREAM_NAME);
    const afterName = token ? decodePageToken(token) : undefined;

    // One extra row tells whether another page exists without a second query.
    const rows = await this.opts.repo.list({ prefix, afterName, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      StreamInfoList: page.map(toStreamInfo),
      ...(rows.length > limit && last ? { NextToken: encodePageToken(last.name) } : {}),
    };
  }

  /** DeleteStream takes StreamARN only. Dependents are dropped first, then the row (a later Describe is 404). */
  async deleteStream(input: unknown): Promise<Empty> {
    const f = Fields.of(input);
    const arn = f.reqString('StreamARN', STREAM_ARN);
    const currentVersion = f.optString('CurrentVersion', VERSION);
    const target = await this.opts.repo.getByArn(arn);
    if (!target) throw streamNotFound();
    // Marking DELETING is a checked write: an Update* racing it either lands first (and a given
    // CurrentVersion then mismatches) or finds the stream DELETING.
    const deleting = await writeWithRetry(this.opts.repo, target.id, (rec) => {
      checkVersion(rec, currentVersion);
      rec.status = 'DELETING';
    });
    try {
      await this.opts.onStreamDeleted?.(deleting);
    } catch (err) {
      // Leave a usable stream rather than a half-deleted one; the client may retry.
      await writeWithRetry(this.opts.repo, target.id, (rec) => {
        rec.status = 'ACTIVE';
      }).catch(() => undefined);
      throw err;
    }
    await this.opts.repo.remove(deleting.id);
    return {};
  }

  async updateStream(input: unknown): Promise<Empty> {
    const f = Fields.of(input);
    const currentVersion = f.reqString('CurrentVersion', VERSION);
    const deviceName = f.optString('DeviceName', DEVICE_NAME);
    const mediaType = f.optString('MediaType', MEDIA_TYPE);
    await this.modify(await this.find(f), currentVersion, (rec) => {
      if (deviceName !== undefined) rec.deviceName = deviceName;
      if (mediaType !== undefined) rec.mediaType = mediaType;
    });
    return {};
  }

  async updateDataRetention(input: unknown): Promise<Empty> {
    const f = Fields.of(input);
    const currentVersion = f.reqString('CurrentVersion', VERSION);
    const operation = f.reqEnum('Operation', RETENTION_OPERATIONS);
    const delta = f.reqInt('DataRetentionChangeInHours', { min: 1, max: MAX_RETENTION_HOURS });
    await this.modify(await this.find(f), currentVersion, (rec) => {
      const next = rec.dataRetentionInHours + (operation === 'INCREASE_DATA_RETENTION' ? delta : -delta);
      if (next < 0 || next > MAX_RETENTION_HOURS) {
        throw invalidArgument(
          `DataRetentionInHours would become ${next}; it must stay between 0 and ${MAX_RETENTION_HOURS}.`,
        );
      }
      rec.dataRetentionInHours = next;
    });
    return {};
  }

  /** The stream owner's base URL (absolute, no trailing slash); a single node answers its own for every APIName. */
  async getDataEndpoint(input: unknown): Promise<{ DataEndpoint: string }> {
    const f = Fields.of(input);
    const apiName = f.reqEnum('APIName', API_NAMES);
    const stream = await this.find(f);
    return { DataEndpoint: (await this.opts.dataEndpoint(stream, apiName)).replace(/\/+$/, '') };
  }

  // ---- tags: stream form (map, StreamName or StreamARN) ----

  async tagStream(input: unknown): Promise<Empty> {
    const f = Fields.of(input);
    const tags = parseTagMap(f, 'Tags', 1) ?? f.missing('Tags');
    await this.retag(await this.find(f, 'InvalidResourceFormatException'), (t) => mergeTags(t, tags));
    return {};
  }

  async untagStream(input: unknown): Promise<Empty> {
    const f = Fields.of(input);
    const keys = parseTagKeys(f, 'TagKeyList');
    await this.retag(await this.find(f, 'InvalidResourceFormatException'), (t) => removeTags(t, keys));
    return {};
  }

  /** At most 50 tags exist, so everything fits one page and NextToken is never returned. */
  async listTagsForStream(input: unknown): Promise<{ Tags: Record<string, string> }> {
    const f = Fields.of(input);
    f.optString('NextToken', NEXT_TOKEN);
    return { Tags: (await this.find(f, 'InvalidResourceFormatException')).tags };
  }

  // ---- tags: generic resource form (list of {Key, Value}, ResourceARN) ----

  async tagResource(input: unknown): Promise<Empty> {
    const f = Fields.of(input);
    const arn = f.reqString('ResourceARN', RESOURCE_ARN);
    const tags = parseTagList(f, 'Tags') ?? f.missing('Tags');
    await this.retag(await this.findResource(arn), (t) => mergeTags(t, tags));
    return {};
  }

  async untagResource(input: unknown): Promise<Empty> {
    const f = Fields.of(input);
    const arn = f.reqString('ResourceARN', RESOURCE_ARN);
    const keys = parseTagKeys(f, 'TagKeyList');
    await this.retag(await this.findResource(arn), (t) => removeTags(t, keys));
    return {};
  }

  async listTagsForResource(input: unknown): Promise<{ Tags: Record<string, string> }> {
    const f = Fields.of(input);
    const arn = f.reqString('ResourceARN', RESOURCE_ARN);
    f.optString('NextToken', NEXT_TOKEN);
    return { Tags: (await this.findResource(arn)).tags };
  }

  // ---- image generation and notification configuration ----

  async describeImageGenerationConfiguration(input: unknown): Promise<{ ImageGenerationConfiguration?: unknown }> {
    const rec = await this.find(Fields.of(input));
    return rec.imageGenerationConfig === null ? {} : { ImageGenerationConfiguration: rec.imageGenerationConfig };
  }

  /** Absent or null configuration deletes it. Enabling needs archived media, so retention 0 is refused. */
  async updateImageGenerationConfiguration(input: unknown): Promise<Empty> {
    const f = Fields.of(input);
    const config = parseImageGenerationConfig(f, this.opts.region);
    if (config) this.requireAllowedDestination('ImageGenerationConfiguration', config.DestinationConfig.Uri);
    await this.modify(await this.find(f), undefined, (rec) => {
      if (config) requireRetention(rec);
      rec.imageGenerationConfig = config;
    });
    return {};
  }

  async describeNotificationConfiguration(input: unknown): Promise<{ NotificationConfiguration?: unknown }> {
    const rec = await this.find(Fields.of(input));
    return rec.notificationConfig === null ? {} : { NotificationConfiguration: rec.notificationConfig };
  }

  async updateNotificationConfiguration(input: unknown): Promise<Empty> {
    const f = Fields.of(input);
    const config = parseNotificationConfig(f);
    if (config) this.requireAllowedDestination('NotificationConfiguration', config.DestinationConfig.Uri);
    await this.modify(await this.find(f), undefined, (rec) => {
      if (config) requireRetention(rec);
      rec.notificationConfig = config;
    });
    return {};
  }

  private requireAllowedDestination(member: string, uri: string): void {
    const verdict = this.opts.checkDestination?.(uri);
    if (verdict && !verdict.ok) throw invalidArgument(`${member}.DestinationConfig.Uri: ${verdict.reason}`);
  }

  // ---- storage configuration ----

  async describeStreamStorageConfiguration(input: unknown): Promise<{
    StreamName: string;
    StreamARN: string;
    StreamStorageConfiguration: { DefaultStorageTier: 'HOT' | 'WARM' };
  }> {
    const rec = await this.find(Fields.of(input));
    return {
      StreamName: rec.name,
      StreamARN: rec.arn,
      StreamStorageConfiguration: { DefaultStorageTier: rec.storageTier },
    };
  }

  async updateStreamStorageConfiguration(input: unknown): Promise<Empty> {
    const f = Fields.of(input);
    const currentVersion = f.reqString('CurrentVersion', VERSION);
    const tier = f.reqObject('StreamStorageConfiguration').reqEnum('DefaultStorageTier', STORAGE_TIERS);
    await this.modify(await this.find(f), currentVersion, (rec) => {
      rec.storageTier = tier;
    });
    return {};
  }

  // ---- helpers ----

  /**
   * Exactly one of StreamName / StreamARN. A malformed ARN is InvalidArgumentException, except for the
   * stream tagging operations, whose model names InvalidResourceFormatException for it.
   */
  private async find(f: Fields, badArn: KvsErrorName = 'InvalidArgumentException'): Promise<StreamRecord> {
    const name = f.optString('StreamName', STREAM_NAME);
    let arn: string | undefined;
    try {
      arn = f.optString('StreamARN', STREAM_ARN);
    } catch (err) {
      throw err instanceof KvsError ? new KvsError(badArn, err.message) : err;
    }
    if (name !== undefined && arn !== undefined) throw invalidArgument('Specify either StreamName or StreamARN, not both.');
    if (name === undefined && arn === undefined) throw invalidArgument('Specify either StreamName or StreamARN.');
    const rec = name !== undefined ? await this.opts.repo.getByName(name) : await this.opts.repo.getByArn(arn as string);
    if (!rec) throw streamNotFound();
    return rec;
  }

  /** ResourceARN of the generic tagging operations; only streams exist here, so other ARNs are 404. */
  private async findResource(arn: string): Promise<StreamRecord> {
    const rec = await this.opts.repo.getByArn(arn);
    if (!rec) throw new KvsError('ResourceNotFoundException', 'The requested resource is not found.');
    return rec;
  }

  /**
   * Read-check-write on a fresh copy of the record, saved only if nobody wrote it in between
   * (optimistic concurrency, any number of nodes). Every Update* changes Version; `currentVersion`,
   * when given, must match first (VersionMismatchException).
   */
  private async modify(
    target: StreamRecord,
    currentVersion: string | undefined,
    change: (rec: StreamRecord) => void,
    bumpVersion = true,
  ): Promise<void> {
    await writeWithRetry(this.opts.repo, target.id, (rec) => {
      if (rec.status !== 'ACTIVE') throw new KvsError('ResourceInUseException', `The stream is ${rec.status}.`);
      checkVersion(rec, currentVersion);
      change(rec);
      if (bumpVersion) rec.version = newVersion();
    });
  }

  /** Tag changes do not touch Version (only Update* operations do). */
  private retag(
    target: StreamRecord,
    change: (tags: Record<string, string>) => Record<string, string>,
  ): Promise<void> {
    return this.modify(target, undefined, (rec) => (rec.tags = change(rec.tags)), false);
  }

  private defaultKmsKeyId(): string {
    return `arn:aws:kms:${this.opts.region}:${this.opts.accountId}:alias/aws/kinesisvideo`;
  }
}

function checkVersion(rec: StreamRecord, currentVersion: string | undefined): void {
  if (currentVersion !== undefined && currentVersion !== rec.version) {
    throw new KvsError('VersionMismatchException', 'CurrentVersion does not match the stream\'s current version.');
  }
}

function requireRetention(rec: StreamRecord): void {
  if (rec.dataRetentionInHours === 0) {
    throw new KvsError('NoDataRetentionException', `The stream ${rec.name} has DataRetentionInHours 0 (no archive).`);
  }
}

