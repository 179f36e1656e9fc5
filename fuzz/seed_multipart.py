#!/usr/bin/env python3
"""Wraps each image_strip corpus input as the attachment of a well-formed tip_multipart input,
so the multipart target reaches the image decoders at once (docs/fuzzing.md, seventh run).

    fuzz/seed_multipart.py fuzz/corpus/image_strip /tmp/wrapped
    RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none tip_multipart \\
        fuzz/corpus/tip_multipart /tmp/wrapped -- -merge=1 -use_counters=0
"""
import os
import sys

BOUNDARY = b"----tiplineBoundary7MA4YWxk"


def wrap(image: bytes) -> bytes:
    part = b"--" + BOUNDARY + b"\r\n"
    body = (
        part + b'Content-Disposition: form-data; name="description"\r\n\r\nphoto\r\n'
        + part + b'Content-Disposition: form-data; name="attachment"; filename="a.jpg"\r\n'
        + b"Content-Type: image/jpeg\r\n\r\n" + image + b"\r\n--" + BOUNDARY + b"--\r\n"
    )
    # The target reads the Content-Type header from the first line.
    return b"multipart/form-data; boundary=" + BOUNDARY + b"\n" + body


def main(src: str, dst: str) -> None:
    os.makedirs(dst, exist_ok=True)
    for name in os.listdir(src):
        with open(os.path.join(src, name), "rb") as f:
            image = f.read()
        if len(image) <= 60_000:  # the target's attachment cap is 64 KiB
            with open(os.path.join(dst, name), "wb") as f:
                f.write(wrap(image))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
