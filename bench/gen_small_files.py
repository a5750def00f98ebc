#!/usr/bin/env python3
"""Writes COUNT small files (0.5-4 KiB of random bytes, seeded) under DIR, 100 to a directory, for the
memory-at-scale measurements of issue 19.

    bench/gen_small_files.py DIR [--count 100000] [--seed 19]
"""
import argparse
import os
import random
from pathlib import Path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    for i in range(args.count):
        folder = args.dir / f"d{i // 10_000:03}" / f"e{(i // 100) % 100:02}"
        if i % 100 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i:07}.bin").write_bytes(rng.randbytes(rng.randint(512, 4096)))


if __name__ == "__main__":
    main()
