/**
 * One long-lived ffmpeg decoder per stream for detection (toolchain.md §1.3: ~5 ms/frame streaming,
 * versus ~0.2 s per spawn). Each fragment's self-contained MKV (header + cluster) is written to
 * ffmpeg's stdin as is: the Matroska demuxer accepts the repeated EBML header + Segment (verified with
 * ffmpeg 5.1). Sampling happens in ffmpeg (`select` on the frame time for N fps, or `-skip_frame nokey`
 * for keyframes), then `scale` to the detector size.
 *
 * Mapping frames back to fragments: with `-copyts` the filtered frames keep their original timestamps.
 * They go to two outputs: raw rgb24 pictures on stdout and a `framecrc` line per frame (its
 * pts, in ms via `-enc_time_base 1:1000`) on stderr. Picture n goes with line n, and the fragment is the
 * one whose time range holds the pts (ranges come from parsing each fragment's cluster as it is written).
 * This stays right when frames fail to decode or the decoder delays output, unlike counting frames. (A
 * Matroska rawvideo output would also carry pts, but its muxer holds each cluster until the next frame.)
 *
 * A fragment is reported done once all the frames the sampling keeps from it have come out (the
 * `select` rule is evaluated in JS on the fragment's frame times), or a later fragment's frame arrives,
 * or the decoder exits; the worker saves the continuation token then.
 *
 * Why each sampled frame is followed by "flusher" frames: measured with ffmpeg 5.1 (`-debug_ts`), the
 * CLI hands a filtered frame to the encoder only when the next filtered frame of that output arrives
 * (the demuxer and the decoder pass every frame of a fragment at once: no B-frames, no delay). With
 * `select` at 2 fps on a 10 fps camera, the fragment's 500 ms sample was therefore held until the next
 * fragment was written, one fragment (1 s) later. So ffmpeg also selects the FLUSHERS (2) frames right
 * after each sample, and JS drops them again (a frame that comes out and is not one of the fragment's
 * samples, as `expectedSamples` computes them, is a flusher). Two, because in session 3 a trace showed
 * the pictures' output holding back two frames at times (the sample and one flusher), for the rest of
 * that decoder's life; one flusher then left every fragment's last sample a fragment late. A sample is
 * the first frame of its sampling period (`isSample`, on the previous frame's time), so the rule and the
 * flusher count-down (`selectExpression`, ffmpeg register 0) are the same in ffmpeg and JS. When the
 * last sample is still owed flushers at the end of its fragment (which depends on how the fragment
 * lines up with the sampling periods; always in `keyframes` mode), filler clusters (copies of the
 * fragment's keyframe, 1, 2… ticks after its last frame: `fillerClusters`) are written after the
 * fragment to push it out, and their frames are dropped. The fillers stay within the last frame's
 * period, so they are never samples and the `select` state is the same as without them. Fillers cost
 * a keyframe decode and a scale each, so they are sized for one held frame until the decoder shows it
 * holds two (a fragment's last sample still missing 0.5 s after its write while its timestamp is out),
 * and written only when the decoder has caught up (in a backlog the next fragment pushes it out).
 *
 * Idle input (`idleFlushMs`, off by default): when no fragment was written for that long and a fragment
 * is still waiting for frames, stdin is ended so ffmpeg outputs everything it holds and exits; the next
 * fragment starts a new decoder. A camera that stops mid-event is then analysed to its last frame.
 *
 * The decoder is restarted when the Tracks change (codec / size change) or time goes backwards (a new
 * producer session), and after a crash (the next fragment starts a new process).
 */
import { spawnFfmpeg, type FfmpegProcess } from './ffmpeg.ts';
import { expectedSamples, fillerClusters, FLUSHERS, initialSelectState, inspectFragment, selectExpression, type SelectState } from './fragment-facts.ts';

/** How long after its write a fragment's last sample may be missing (with its timestamp out) before the decoder counts as holding back 2 frames. */
const HOLD_EVIDENCE_MS = 500;

export { expectedSamples, FLUSHERS, initialSelectState, inspectFragment, type FragmentFacts, type SelectState } from './fragment-facts.ts';

export interface SamplerFragment {
  fragmentNumber: string;
  producerTimestampMs: number;
  serverTimestampMs: number;
  /** Header + cluster. */
  mkv: Buffer;
}

export interface SampledFrame<F extends SamplerFragment = SamplerFragment> {
  width: number;
  height: number;
  /** HWC rgb24. */
  rgb: Uint8Array;
  /** Frame time in the fragment's MKV timeline, ms. */
  ptsMs: number;
  /** Producer time of the frame: fragment producer timestamp + offset in the cluster. */
  producerTimestampMs: number;
  /** Index of the sampled frame within this sampler's life (0, 1, ...). */
  frameIndex: number;
  /** Source video size (from the track header); 0 when unknown. */
  sourceWidth: number;
  sourceHeight: number;
  fragment: F;
}

export interface FrameSamplerOptions<F extends SamplerFragment> {
  width: number;
  height: number;
  /** Frames per second, or only keyframes. */
  sampling: number | 'keyframes';
  onFrame: (frame: SampledFrame<F>) => void;
  /** All frames a fragment will ever yield have been delivered. */
  onFragmentDone?: (fragment: F) => void;
  onLog?: (line: string) => void;
  /** Flush the decoder after this long without a new fragment (undefined = only on flush()). */
  idleFlushMs?: number;
}

interface Pending<F> {
  fragment: F;
  /** When it was written to the decoder (Date.now()). */
  writtenAt: number;
  /**
   * Times (ms) of the frames the sampling yields for this fragment (emulated in JS); done when all
   * arrived. Any other frame that comes out is a flusher (in keyframes mode every frame is a sample).
   */
  sampleTimes: number[];
  received: number;
  /** No more frames will come for it. */
  complete: boolean;
  /** onFragmentDone called (always in push order, after every earlier fragment). */
  reported: boolean;
  startMs: number;
  endMs: number;
  clusterMs: number;
  sourceWidth: number;
  sourceHeight: number;
}

export function frameSamplerArgs(o: { width: number; height: number; sampling: number | 'keyframes' }): string[] {
  // Samples (the first frame of each period) and the flushers after each (see the header).
  const select = o.sampling === 'keyframes' ? '' : `${selectExpression(o.sampling)},`;
  // Bilinear: about 25 % less decoder CPU than swscale's default bicubic at this size (measured on the
  // people fixture), and the detector does not see the difference.
  const vf = `${select}scale=${o.width}:${o.height}:flags=bilinear`;
  // The timestamps need the same frames, not the same pixels: a tiny scale. (Leaving the scale out
  // changes when ffmpeg 5.1 releases the newest frame of that output, and the newest fragment's last
  // timestamp can then stay behind until more input arrives.)
  const vfTimes = `${select}scale=16:16:flags=bilinear`;
  return [
    // Slice threads: frame threading would hold back the last frames of a live stream.
    '-probesize', '32768', '-analyzeduration', '0', '-thread_type', 'slice',
    ...(o.sampling === 'keyframes' ? ['-skip_frame', 'nokey'] : []),
    '-f', 'matroska', '-i', 'pipe:0', '-copyts',
    // The pictures: fixed-size rgb24 frames on stdout, written as soon as they are made.
    '-map', '0:v:0', '-vf', vf, '-fps_mode', 'passthrough', '-enc_time_base', '1:1000', '-c:v', 'rawvideo', '-pix_fmt', 'rgb24', '-f', 'rawvideo', '-flush_packets', '1', 'pipe:1',
    // Their timestamps: one framecrc line per frame (same decoder, same `select`, so same frames in the
    // same order) on stderr, in ms. Two simple graphs rather than one `split`: ffmpeg 5.1 holds frames back in
    // a complex graph with two outputs until more input arrives.
    '-map', '0:v:0', '-vf', vfTimes, '-fps_mode', 'passthrough', '-enc_time_base', '1:1000', '-c:v', 'wrapped_avframe', '-f', 'framecrc', '-flush_packets', '1', 'pipe:2',
  ];
}

/** Parses a framecrc line ("0, dts, pts, duration, size, crc") into its pts, or undefined. */
export function framecrcPts(line: string): number | undefined {
  const m = /^\d+,\s*-?\d+,\s*(-?\d+),/.exec(line);
  return m ? Number(m[1]) : undefined;
}

export class FrameSampler<F extends SamplerFragment = SamplerFragment> {
  private proc: FfmpegProcess | undefined;
  private pending: Pending<F>[] = [];
  private tracksKey = '';
  private lastEndMs = -Infinity;
  private frameIndex = 0;
  private closed = false;
  private select: SelectState = initialSelectState();
  /**
   * Frames this decoder's pictures output holds back: 1 at first; 2 once a fragment's last sample was
   * seen still missing when the next fragment came much later (the fillers are sized for it).
   */
  private hold = 1;
  /** Timestamps from ffmpeg's second output whose pictures have not come out yet. */
  private timesAhead: readonly number[] = [];
  /** Times (ms) of the filler frames written to the current decoder and not out yet (see fillerClusters). */
  private fillers: number[] = [];
  private ending: Promise<void> | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Number of ffmpeg processes started (tests check there is one per stream). */
  spawns = 0;

  constructor(private readonly opts: FrameSamplerOptions<F>) {}

  /** Writes one fragment to the decoder (waits for stdin to drain). */
  async push(fragment: F): Promise<void> {
    if (this.closed) throw new Error('sampler closed');
    clearTimeout(this.idleTimer);
    if (this.ending) await this.ending;
    const info = inspectFragment(fragment.mkv);
    if (this.proc && (info.tracksKey !== this.tracksKey || info.startMs <= this.lastEndMs - 1)) {
      this.opts.onLog?.(`decoder restart: ${info.tracksKey !== this.tracksKey ? 'tracks changed' : 'time went backwards'}`);
      await this.flush();
    }
    this.tracksKey = info.tracksKey;
    this.lastEndMs = info.endMs;
    if (!this.proc) this.select = initialSelectState();
    const proc = this.proc ?? this.start();
    // Evidence that the pictures output holds back two frames: the previous fragment's last sample was
    // decoded and filtered (its timestamp came out on the other output) long ago, but not its picture.
    // (A decoder that is merely behind has not produced the timestamp either.)
    const prev = this.pending.at(-1);
    const lastSample = prev?.sampleTimes.at(-1);
    if (this.hold < FLUSHERS && prev && lastSample !== undefined && prev.received < prev.sampleTimes.length && Date.now() - prev.writtenAt >= HOLD_EVIDENCE_MS
      && this.timesAhead.some((t) => Math.abs(t - lastSample) < 0.5)) {
      this.hold = FLUSHERS;
      this.opts.onLog?.(`decoder holds back ${FLUSHERS} frames: more fillers from now on`);
    }
    const exp = expectedSamples(info.frames, this.opts.sampling, this.select);
    // Fillers only when the decoder has caught up: behind (a backlog, a batch), the next fragment
    // follows anyway and pushes the last sample out, and fillers would cost decoding and scaling.
    const caughtUp = this.pending.every((p) => p.received >= p.sampleTimes.length);
    const filler = caughtUp ? fillerClusters(info, this.opts.sampling, exp.timesMs, exp.state.owed, this.hold) : undefined;
    // Selected fillers use up the flushers still owed; they stay in the last frame's period.
    this.select = filler ? { prevT: filler.ptsMs.at(-1)! * 0.001, owed: Math.max(0, exp.state.owed - filler.ptsMs.length) } : exp.state;
    if (filler) this.fillers.push(...filler.ptsMs);
    const entry: Pending<F> = { fragment, writtenAt: Date.now(), sampleTimes: exp.timesMs, received: 0, complete: false, reported: false, startMs: info.startMs, endMs: info.endMs, clusterMs: info.clusterMs, sourceWidth: info.width, sourceHeight: info.height };
    this.pending.push(entry);
    if (exp.timesMs.length === 0) this.report(entry);
    const stdin = proc.stdin!;
    if (!stdin.write(filler ? Buffer.concat([fragment.mkv, filler.mkv]) : fragment.mkv)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          stdin.off('drain', done);
          resolve();
        };
        stdin.once('drain', done);
        void proc.exited.then(done);
      });
    }
    this.armIdle();
  }

  /** Fragments written but not yet reported done (their frames may still be inside the decoder). */
  get waiting(): number {
    return this.pending.filter((p) => !p.reported).length;
  }

  private armIdle(): void {
    const ms = this.opts.idleFlushMs;
    if (!ms || this.closed) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.waiting > 0) void this.flush();
    }, ms);
    this.idleTimer.unref();
  }

  /** Ends the input and waits for every remaining frame; the next push starts a new decoder. */
  async flush(): Promise<void> {
    clearTimeout(this.idleTimer);
    const proc = this.proc;
    if (!proc) return;
    if (!this.ending) {
      proc.stdin?.end();
      this.ending = proc.exited.then(() => {
        this.ending = undefined;
      });
    }
    await this.ending;
  }

  /** Stops the decoder without waiting for buffered frames. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.idleTimer);
    const proc = this.proc;
    this.proc = undefined;
    if (proc) await proc.stop(2000);
    this.pending = [];
  }

  private start(): FfmpegProcess {
    const frameBytes = this.opts.width * this.opts.height * 3;
    const times: number[] = [];
    this.timesAhead = times;
    const images: Buffer[] = [];
    let partial: Buffer[] = [];
    let partialBytes = 0;
    let tbMs = 1;
    const match = () => {
      while (times.length && images.length) this.deliver(times.shift()!, images.shift());
    };
    this.fillers = [];
    this.hold = 1;
    const proc = spawnFfmpeg(frameSamplerArgs(this.opts), {
      stdin: 'pipe',
      stdout: 'pipe',
      logLevel: 'error',
      // Below the detector's inference threads and the server: a decoder that runs a frame late costs
      // nothing (frames queue), an inference slowed down by it costs throughput.
      niceness: 10,
      onStderrLine: (line) => {
        const pts = framecrcPts(line);
        if (pts !== undefined) {
          times.push(pts * tbMs);
          match();
        } else if (line.startsWith('#tb 0:')) {
          const [n, d] = line.slice(6).trim().split('/').map(Number);
          if (n && d) tbMs = (n * 1000) / d;
        } else if (!line.startsWith('#') && !line.includes('Found unknown-length element')) {
          // (that one is the repeated per-fragment Segment header, which the demuxer handles)
          this.opts.onLog?.(line);
        }
      },
    });
    this.spawns++;
    this.proc = proc;
    proc.stdout!.on('data', (chunk: Buffer) => {
      partial.push(chunk);
      partialBytes += chunk.length;
      if (partialBytes < frameBytes) return;
      let all = Buffer.concat(partial);
      while (all.length >= frameBytes) {
        images.push(all.subarray(0, frameBytes));
        all = all.subarray(frameBytes);
      }
      partial = all.length ? [all] : [];
      partialBytes = all.length;
      match();
    });
    void proc.exited.then((exit) => {
      if (this.proc === proc) this.proc = undefined;
      if (this.closed) return;
      if (exit.code !== 0) this.opts.onLog?.(`decoder exited with ${exit.code ?? exit.signal}: ${proc.stderrTail().filter((l) => framecrcPts(l) === undefined).join(' | ')}`);
      // Everything written to this process has now produced all the frames it will.
      for (const p of this.pending) this.report(p);
      this.pending = [];
    });
    return proc;
  }

  /** Marks the fragment complete and reports every complete fragment not preceded by an incomplete one. */
  private report(p: Pending<F>): void {
    p.complete = true;
    for (const q of this.pending) {
      if (!q.complete) break;
      if (q.reported) continue;
      q.reported = true;
      this.opts.onFragmentDone?.(q.fragment);
    }
    if (!this.pending.includes(p) && !p.reported) {
      p.reported = true;
      this.opts.onFragmentDone?.(p.fragment);
    }
  }

  private deliver(ptsMs: number, data: Buffer | undefined): void {
    const size = this.opts.width * this.opts.height * 3;
    if (!data || data.length !== size) return;
    // The fragment holding this frame: the last one starting at or before it.
    let idx = 0;
    for (let i = 0; i < this.pending.length; i++) if (this.pending[i]!.startMs <= ptsMs + 0.5) idx = i;
    // Earlier fragments are finished (covers frames that never came out of the decoder).
    for (const d of this.pending.slice(0, idx)) this.report(d);
    this.pending.splice(0, idx);
    const p = this.pending[0];
    if (!p) return;
    // Fillers older than this frame were not selected (no flusher owed any more): forget them.
    while (this.fillers.length && this.fillers[0]! < ptsMs - 0.5) this.fillers.shift();
    const filler = this.fillers.findIndex((t) => Math.abs(t - ptsMs) < 0.5);
    if (filler >= 0) {
      this.fillers.splice(0, filler + 1);
      return;
    }
    // A flusher (not a sample): it only served to push the samples before it out of ffmpeg.
    if (this.opts.sampling !== 'keyframes' && !p.sampleTimes.some((t) => Math.abs(t - ptsMs) < 0.5)) return;
    this.opts.onFrame({
      width: this.opts.width,
      height: this.opts.height,
      rgb: new Uint8Array(data.buffer, data.byteOffset, data.length),
      ptsMs,
      producerTimestampMs: p.fragment.producerTimestampMs + Math.round(ptsMs - p.clusterMs),
      frameIndex: this.frameIndex++,
      sourceWidth: p.sourceWidth,
      sourceHeight: p.sourceHeight,
      fragment: p.fragment,
    });
    p.received++;
    // All its frames are out: done now rather than when the next fragment's first frame arrives.
    if (p.received >= p.sampleTimes.length) this.report(p);
  }
}
