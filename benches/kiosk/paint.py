#!/usr/bin/python3
"""Start to first paint, polled from outside the process, and the process's memory after it.

Usage: paint.py [--click X,Y] DISPLAY SETTLE_S CMD [ARG…]
Starts CMD with DISPLAY set and polls nine pixels of the X server's root window (Xvfb, black
root) until they have not changed for a second: the first paint is when they first showed that
settled frame. Then, SETTLE_S seconds after the start, it
reads PSS/RSS of the process and of every process it started (Chromium is several), and the
thread count. With --click, once the first frame has settled it taps there and times the page
change the same way (tap to the first sample of the frame the screen settles on). Prints one
JSON line: {"paint_ms", "change_ms", "pss_kib", "rss_kib", "threads", "procs"}.
The process tree is stopped by its PIDs (SIGTERM, then SIGKILL), never by name.
"""
import json
import os
import signal
import subprocess
import sys
import time

from Xlib import X, display as xdisplay


def tree(pid):
    """pid and every descendant, from /proc."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(d))
        except (OSError, IndexError, ValueError):
            pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def rollup(pid):
    vals = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0] in ("Pss:", "Rss:"):
                    vals[parts[0][:-1]] = int(parts[1])
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Threads:"):
                    vals["Threads"] = int(line.split()[1])
    except OSError:
        pass
    return vals


def sample_of(root, points):
    return b"".join(root.get_image(x, y, 1, 1, X.ZPixmap, 0xFFFFFFFF).data[:3] for (x, y) in points)


def page_change(d, root, points, at):
    """A tap at `at` (XTEST: press and release), then the time until the sampled pixels first
    show the frame they settle on."""
    from Xlib.ext import xtest
    before = sample_of(root, points)
    xtest.fake_input(d, X.MotionNotify, x=at[0], y=at[1])
    d.sync()
    t0 = time.monotonic()
    xtest.fake_input(d, X.ButtonPress, 1)
    xtest.fake_input(d, X.ButtonRelease, 1)
    d.sync()
    samples = [(t0, before)]
    while time.monotonic() < t0 + 5:
        now = time.monotonic()
        sample = sample_of(root, points)
        if sample != samples[-1][1]:
            samples.append((now, sample))
        elif now - samples[-1][0] > 0.5 and len(samples) > 1:
            break
        time.sleep(0.0002)
    if len(samples) < 2:
        return None
    return (samples[-1][0] - t0) * 1000


def main():
    args = sys.argv[1:]
    click = None
    if args and args[0] == "--click":
        click = tuple(int(v) for v in args[1].split(","))
        args = args[2:]
    disp_name, settle = args[0], float(args[1])
    cmd = args[2:]
    d = xdisplay.Display(disp_name)
    root = d.screen().root
    geom = root.get_geometry()
    # Sample points spread over the screen: the first frame of any page paints most of them.
    points = [(geom.width * fx // 8, geom.height * fy // 8) for fx in (1, 4, 7) for fy in (1, 4, 7)]
    env = dict(os.environ, DISPLAY=disp_name)
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    # Every sample, timestamped, until the screen has not changed for STABLE_S: the first paint
    # is the first sample that already shows the settled frame (a window the server maps and
    # clears before the app draws is not a paint).
    samples = []
    stable_s, deadline = 1.0, t0 + 20
    while time.monotonic() < deadline and proc.poll() is None:
        now = time.monotonic()
        sample = b"".join(root.get_image(x, y, 1, 1, X.ZPixmap, 0xFFFFFFFF).data[:3]
                          for (x, y) in points)
        if not samples or samples[-1][1] != sample:
            samples.append((now, sample))
        elif now - samples[-1][0] > stable_s and any(px != b"\x00\x00\x00" for px in
                                                       (sample[i:i + 3] for i in range(0, len(sample), 3))):
            break
        time.sleep(0.0005)
    paint_ms = None
    if samples and samples[-1][1].strip(b"\x00"):
        paint_ms = (samples[-1][0] - t0) * 1000
    settle = max(0.0, settle - (time.monotonic() - t0))
    change_ms = None
    if click and paint_ms is not None:
        change_ms = page_change(d, root, points, click)
    time.sleep(settle)
    pids = tree(proc.pid)
    pss = rss = threads = 0
    for p in pids:
        v = rollup(p)
        pss += v.get("Pss", 0)
        rss += v.get("Rss", 0)
        threads += v.get("Threads", 0)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in tree(proc.pid):
            try:
                os.kill(p, sig)
            except OSError:
                pass
        try:
            proc.wait(timeout=3)
            break
        except subprocess.TimeoutExpired:
            pass
    print(json.dumps({"paint_ms": paint_ms, "change_ms": change_ms, "pss_kib": pss, "rss_kib": rss,
                      "threads": threads, "procs": len(pids), "exit": proc.returncode}))


if __name__ == "__main__":
    main()
