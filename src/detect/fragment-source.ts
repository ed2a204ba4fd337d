/**
 * Where the detection worker reads fragments from. `detect` depends on this interface only, never
 * on ingest or api (architecture.md §3): implementations read over HTTP (GetMedia) or in-process
 * (LiveFeed).
 */
export interface SourceFragment {
  stream: string;
  fragmentNumber: string;
  producerTimestampMs: number;
  serverTimestampMs: number;
  /** Header + one Cluster: a self-contained MKV. */
  mkv: Buffer;
  /** Token that resumes right after this fragment (KVS: AWS_KINESISVIDEO_CONTINUATION_TOKEN). */
  continuationToken: string;
}

export interface FragmentSourceStart {
  /** Resume right after the fragment this token was given for; absent = start at NOW. */
  continuationToken?: string;
}

export interface FragmentSource {
  /** Fragments of `stream` in order, forever (until `signal` aborts). */
  fragments(stream: string, from: FragmentSourceStart, signal?: AbortSignal): AsyncIterable<SourceFragment>;
}
