#!/usr/bin/env python3
"""Draws the app icon (assets/chatroom.png, 256x256 RGBA) with the standard
library only, so the icon is reproducible: python3 scripts/make-icon.py"""

import math
import os
import struct
import zlib

SIZE = 256
SUPER = 4  # samples per pixel side, for smooth edges


def rounded_rect(x, y, x0, y0, x1, y1, r):
    """Inside a rectangle with corner radius r?"""
    cx = min(max(x, x0 + r), x1 - r)
    cy = min(max(y, y0 + r), y1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def bubble(x, y, x0, y0, x1, y1, tail_x, tail_dir):
    """A speech bubble: a rounded rectangle with a small tail below."""
    if rounded_rect(x, y, x0, y0, x1, y1, 26):
        return True
    # The tail: a triangle hanging from the bottom edge.
    ty = y - y1
    if 0 <= ty <= 30:
        # The tail leans right (tail_dir > 0) or left.
        if tail_dir > 0:
            left, right = tail_x - 22 + ty * 0.7, tail_x + 22 - ty * 1.4
        else:
            left, right = tail_x - 22 + ty * 1.4, tail_x + 22 - ty * 0.7
        return left <= x <= right
    return False


def colour_at(x, y):
    """RGBA of one sample: background tile, two bubbles, three dots."""
    if not rounded_rect(x, y, 8, 8, 248, 248, 52):
        return (0, 0, 0, 0)
    t = (x + y) / 512.0
    bg = (int(40 + 30 * t), int(90 + 60 * t), int(200 - 40 * t), 255)
    if bubble(x, y, 104, 60, 224, 150, 190, 1):
        return (255, 214, 102, 255)
    if bubble(x, y, 32, 104, 176, 200, 70, -1):
        for dot_x in (72, 104, 136):
            if (x - dot_x) ** 2 + (y - 152) ** 2 <= 11 ** 2:
                return bg
        return (255, 255, 255, 255)
    return bg


def render():
    rows = []
    n = SUPER * SUPER
    for py in range(SIZE):
        row = bytearray([0])  # PNG filter type: none
        for px in range(SIZE):
            acc = [0, 0, 0, 0]
            for sy in range(SUPER):
                for sx in range(SUPER):
                    c = colour_at(px + (sx + 0.5) / SUPER, py + (sy + 0.5) / SUPER)
                    a = c[3]
                    acc[0] += c[0] * a
                    acc[1] += c[1] * a
                    acc[2] += c[2] * a
                    acc[3] += a
            alpha = acc[3] / n
            if acc[3]:
                rgb = [round(acc[i] / acc[3]) for i in range(3)]
            else:
                rgb = [0, 0, 0]
            row += bytes(rgb + [round(alpha)])
        rows.append(bytes(row))
    return b"".join(rows)


def png(width, height, raw):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "..", "assets", "chatroom.png")
    with open(out, "wb") as f:
        f.write(png(SIZE, SIZE, render()))
    print("wrote", os.path.normpath(out))


if __name__ == "__main__":
    main()
