"""Plays a URL with GStreamer and reports the decoded video frames (player-matrix tests).

usage: gst_play.py <playbin3|hlsdemux> <url> <seconds>

playbin3 plugs the adaptive demuxer itself (hlsdemux2 / dashdemux2 in 1.22); `hlsdemux` is an
explicit souphttpsrc ! hlsdemux ! decodebin pipeline. Video goes to a fakesink whose handoffs
are counted; buffering messages are ignored (a live stream never fills the buffer gst-launch
would wait for). Stops at EOS, on an error, or after <seconds> of wall-clock time. Prints one
JSON line: {"frames", "firstPts", "lastPts", "eos", "error"}.
"""
import json
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

kind, url, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
Gst.init(None)
state = {"frames": 0, "firstPts": None, "lastPts": None, "eos": False, "error": None}


def on_handoff(_sink, buf, _pad):
    pts = buf.pts / Gst.SECOND if buf.pts != Gst.CLOCK_TIME_NONE else None
    state["frames"] += 1
    if pts is not None:
        if state["firstPts"] is None:
            state["firstPts"] = pts
        state["lastPts"] = pts


def video_sink():
    sink = Gst.ElementFactory.make("fakesink", None)
    sink.set_property("sync", False)
    sink.set_property("signal-handoffs", True)
    sink.connect("handoff", on_handoff)
    return sink


if kind == "playbin3":
    pipeline = Gst.ElementFactory.make("playbin3", None)
    pipeline.set_property("uri", url)
    pipeline.set_property("video-sink", video_sink())
    audio = Gst.ElementFactory.make("fakesink", None)
    audio.set_property("sync", False)
    pipeline.set_property("audio-sink", audio)
else:
    pipeline = Gst.parse_launch(f'souphttpsrc location="{url}" ! hlsdemux ! decodebin name=dec')
    vsink = video_sink()
    pipeline.add(vsink)
    dec = pipeline.get_by_name("dec")

    def on_pad(_dec, pad):
        caps = pad.get_current_caps() or pad.query_caps(None)
        name = caps.get_structure(0).get_name() if caps.get_size() else ""
        if name.startswith("video/") and not vsink.get_static_pad("sink").is_linked():
            pad.link(vsink.get_static_pad("sink"))
        else:
            drop = Gst.ElementFactory.make("fakesink", None)
            drop.set_property("sync", False)
            pipeline.add(drop)
            drop.sync_state_with_parent()
            pad.link(drop.get_static_pad("sink"))

    dec.connect("pad-added", on_pad)

loop = GLib.MainLoop()


def on_message(_bus, msg):
    if msg.type == Gst.MessageType.EOS:
        state["eos"] = True
        loop.quit()
    elif msg.type == Gst.MessageType.ERROR:
        err, dbg = msg.parse_error()
        state["error"] = f"{err.message} ({dbg})"[:500]
        loop.quit()
    return True


bus = pipeline.get_bus()
bus.add_signal_watch()
bus.connect("message", on_message)
GLib.timeout_add(int(seconds * 1000), loop.quit)
pipeline.set_state(Gst.State.PLAYING)
loop.run()
pipeline.set_state(Gst.State.NULL)
print(json.dumps(state), flush=True)
