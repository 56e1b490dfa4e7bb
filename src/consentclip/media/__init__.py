"""Everything that touches media files; the only package that runs ffmpeg and ffprobe.

- ``ffmpeg``: finding the binaries, defusing option-like paths
- ``probe``: what a clip is (size upright, rate, rotation, audio), one-line errors
- ``sniff``: is a file media, and which kind, by content
- ``decode`` / ``encode``: streaming frames through ffmpeg subprocesses and bounded queues
- ``metadata``: the allowlist (data) and the post-write verification
- ``photo``: photos in and out, pixels only
"""
