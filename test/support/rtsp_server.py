"""Minimal RTSP server for tests: serves an H.264 Matroska file (no B-frames) over RTSP.

Run with Debian's /usr/bin/python3 (it has python3-gi). Prints "READY <port>" once listening.
Each client gets its own pipeline (not shared), so a reconnect starts the file from the beginning;
with a long file that approximates a looping camera.
"""
import argparse
import signal
import sys

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument('--file', required=True)
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--mount', default='/cam')
    args = ap.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address('127.0.0.1')
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    location = args.file.replace('"', '\\"')
    # config-interval=-1 repeats SPS/PPS with every IDR so a client joining late can decode.
    factory.set_launch(
        f'( filesrc location="{location}" ! matroskademux ! h264parse config-interval=-1 '
        '! rtph264pay name=pay0 pt=96 )'
    )
    factory.set_shared(False)
    server.get_mount_points().add_factory(args.mount, factory)
    if server.attach(None) == 0:
        print(f'cannot listen on 127.0.0.1:{args.port}', file=sys.stderr, flush=True)
        return 3

    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f'READY {args.port}', flush=True)
    loop.run()
    return 0


if __name__ == '__main__':
    sys.exit(main())
