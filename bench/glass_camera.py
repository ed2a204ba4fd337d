"""Glass-to-glass test camera: an RTSP server whose frames carry their own capture time.

Run with Debian's /usr/bin/python3 (python3-gi, gst-rtsp-server, x264enc). Prints "READY <port>"
once listening. Each frame is drawn when it is "captured" (a paced loop at --fps), and the
wall-clock time of that moment, in ms since the epoch, is painted into it as black/white 16x16
blocks (layout in bench/glass.ts, which reads them back from a canvas in Chromium):

  row y=16..31, x=64+16*i (i=0..31): bit 31-i of (ms mod 2^32), white = 1
  row y=32..47, x=64+16*i (i=0..7):  bit 7-i of the check byte ~(b0 ^ b1 ^ b2 ^ b3) & 0xff

The frames then go through x264 (zerolatency, no B-frames, --gop frames per GOP) and RTP, as in
an IP camera. One pipeline is shared by all clients (a camera has one encoder).
"""
import argparse
import signal
import sys
import threading
import time

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

BLOCK = 16
X0 = 64
ROW_DATA = 16
ROW_CHECK = 32
WHITE = 235
BLACK = 16


def fill(frame: bytearray, width: int, x: int, y: int, w: int, h: int, value: int) -> None:
    """Sets a rectangle of the Y plane (plain Python: Debian's python3 has no numpy)."""
    row = bytes([value]) * w
    for yy in range(y, y + h):
        start = yy * width + x
        frame[start:start + w] = row


def paint_stamp(frame: bytearray, width: int, ms: int) -> None:
    value = ms & 0xFFFFFFFF
    b = value.to_bytes(4, 'big')
    check = ~(b[0] ^ b[1] ^ b[2] ^ b[3]) & 0xFF
    for i in range(32):
        bit = (value >> (31 - i)) & 1
        fill(frame, width, X0 + i * BLOCK, ROW_DATA, BLOCK, BLOCK, WHITE if bit else BLACK)
    for i in range(8):
        bit = (check >> (7 - i)) & 1
        fill(frame, width, X0 + i * BLOCK, ROW_CHECK, BLOCK, BLOCK, WHITE if bit else BLACK)


class Feeder:
    """Pushes stamped I420 frames into the appsrc at a steady rate until stopped."""

    def __init__(self, appsrc, width: int, height: int, fps: int):
        self.appsrc = appsrc
        self.width, self.height, self.fps = width, height, fps
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        w, h = self.width, self.height
        y_size = w * h
        frame = bytearray([128]) * (y_size * 3 // 2)  # grey picture, neutral chroma
        fill(frame, w, 0, 64, w, h - 64, 60)
        box = 48
        last_x = 0
        period = 1.0 / self.fps
        frame_ns = Gst.SECOND // self.fps
        # Timestamps from a steady frame clock, as a camera's encoder stamps RTP: n frame periods
        # after the first frame's running time (pipeline clock minus base time).
        clock = self.appsrc.get_clock()
        while clock is None and not self.stopped.wait(0.01):
            clock = self.appsrc.get_clock()
        if clock is None:
            return
        pts0 = max(0, clock.get_time() - self.appsrc.get_base_time())
        start = time.monotonic()
        n = 0
        while not self.stopped.is_set():
            due = start + n * period
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -1.0:
                # Far behind (a loaded machine): skip ahead instead of bursting old frames.
                n += int(-delay / period)
                continue
            # Some motion, so the encoder works like it would on a real scene.
            fill(frame, w, last_x, h // 2, box, box, 60)
            last_x = (n * 8) % (w - box)
            fill(frame, w, last_x, h // 2, box, box, 200)
            paint_stamp(frame, w, int(time.time() * 1000))
            buf = Gst.Buffer.new_wrapped(bytes(frame))
            buf.pts = pts0 + n * frame_ns
            buf.duration = frame_ns
            if self.appsrc.emit('push-buffer', buf) != Gst.FlowReturn.OK:
                break
            n += 1

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--mount', default='/cam')
    ap.add_argument('--width', type=int, default=640)
    ap.add_argument('--height', type=int, default=360)
    ap.add_argument('--fps', type=int, default=25)
    ap.add_argument('--gop', type=int, default=50)
    ap.add_argument('--kbps', type=int, default=1500)
    args = ap.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address('127.0.0.1')
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    caps = f'video/x-raw,format=I420,width={args.width},height={args.height},framerate={args.fps}/1'
    x264 = f'keyint={args.gop}:min-keyint={args.gop}:scenecut=0'
    factory.set_launch(
        f'( appsrc name=src is-live=true format=time caps="{caps}" '
        f'! queue max-size-buffers=4 leaky=downstream '
        f'! x264enc tune=zerolatency speed-preset=ultrafast bframes=0 key-int-max={args.gop} bitrate={args.kbps} option-string="{x264}" '
        f'! h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96 )'
    )
    factory.set_shared(True)
    feeders = []

    def on_configure(_factory, media):
        appsrc = media.get_element().get_by_name('src')
        feeder = Feeder(appsrc, args.width, args.height, args.fps)
        feeders.append(feeder)
        media.connect('unprepared', lambda _m: feeder.stop())
        feeder.start()

    factory.connect('media-configure', on_configure)
    server.get_mount_points().add_factory(args.mount, factory)
    if server.attach(None) == 0:
        print(f'cannot listen on 127.0.0.1:{args.port}', file=sys.stderr, flush=True)
        return 3

    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f'READY {args.port}', flush=True)
    loop.run()
    for f in feeders:
        f.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
