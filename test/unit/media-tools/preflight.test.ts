import { describe, expect, it } from 'vitest';
import { parseToolVersion, versionProblem } from '../../../src/media-tools/preflight.ts';

describe('ffmpeg preflight', () => {
  it('reads release, n-prefixed and git version strings', () => {
    expect(parseToolVersion('ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026')).toMatchObject({ major: 5, minor: 1 });
    expect(parseToolVersion('ffprobe version n6.1.1 Copyright')).toMatchObject({ major: 6, minor: 1 });
    expect(parseToolVersion('ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright')).toMatchObject({ major: 4, minor: 4 });
    expect(parseToolVersion('ffmpeg version N-112233-gabcdef0 Copyright')).toEqual({ git: true, text: 'N-112233-gabcdef0' });
    expect(parseToolVersion('something else entirely')).toBeUndefined();
  });

  it('accepts 5.0 and newer (and git builds); names the version, the minimum and the install hint otherwise', () => {
    expect(versionProblem('ffmpeg', 'ffmpeg', 'ffmpeg version 5.0 Copyright')).toBeUndefined();
    expect(versionProblem('ffmpeg', 'ffmpeg', 'ffmpeg version 7.1.1 Copyright')).toBeUndefined();
    expect(versionProblem('ffmpeg', 'ffmpeg', 'ffmpeg version N-1-gabc Copyright')).toBeUndefined();
    const old = versionProblem('ffmpeg', '/opt/ff/ffmpeg', 'ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright');
    expect(old).toContain('"/opt/ff/ffmpeg" is version 4.4.2-0ubuntu0.22.04.1');
    expect(old).toContain('5.0 or newer');
    expect(old).toContain('apt-get install ffmpeg');
    expect(old).toContain('KESTREL_FFMPEG');
    expect(versionProblem('ffprobe', 'x', 'garbage')).toContain('KESTREL_FFPROBE');
  });
});
