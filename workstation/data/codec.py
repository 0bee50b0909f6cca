"""Chunk codecs: six equal-length 8-byte columns packed column after column, then compressed.

The codec name is stored with every chunk, so chunks written with different codecs coexist and
the default can change without migrating data. bench/bench_candle_store.py measures them.
"""

from __future__ import annotations

import zlib
from enum import StrEnum

import blosc2
import numpy as np

from workstation.data.arrays import COLUMNS, CandleArrays

N_COLUMNS = len(COLUMNS)


class Codec(StrEnum):
    RAW = "raw"
    BLOSC2_LZ4 = "blosc2-lz4"  # byte shuffle + LZ4: the fastest to load in our measurements
    BLOSC2_ZSTD = "blosc2-zstd"
    ZLIB = "zlib"


DEFAULT_CODEC = Codec.BLOSC2_LZ4


def pack(candles: CandleArrays) -> np.ndarray:
    """A (6, n) float64 block; row 0 holds the int64 timestamps bit for bit."""
    block = np.empty((N_COLUMNS, len(candles)), dtype=np.float64)
    block[0] = candles.ts.view(np.float64)
    for i, name in enumerate(COLUMNS[1:], start=1):
        block[i] = getattr(candles, name)
    return block


def encode(candles: CandleArrays, codec: Codec = DEFAULT_CODEC) -> bytes:
    block = pack(candles)
    if codec is Codec.RAW:
        return block.tobytes()
    if codec is Codec.ZLIB:
        return zlib.compress(block.tobytes(), 6)
    blosc_codec = blosc2.Codec.LZ4 if codec is Codec.BLOSC2_LZ4 else blosc2.Codec.ZSTD
    return blosc2.compress2(block, codec=blosc_codec, clevel=5, typesize=8, filters=[blosc2.Filter.SHUFFLE])


def decode_into(blob: bytes, codec: Codec, n_rows: int, out: np.ndarray, offset: int) -> None:
    """Decode one chunk into columns [offset, offset + n_rows) of a preallocated (6, N) block."""
    if n_rows == 0:
        return
    if codec is Codec.RAW:
        block = np.frombuffer(blob, dtype=np.float64)
    elif codec is Codec.ZLIB:
        block = np.frombuffer(zlib.decompress(blob), dtype=np.float64)
    else:
        block = np.empty(N_COLUMNS * n_rows, dtype=np.float64)
        blosc2.decompress2(blob, dst=block)
    if block.size != N_COLUMNS * n_rows:
        raise ValueError(f"chunk holds {block.size} values, expected {N_COLUMNS * n_rows}")
    out[:, offset : offset + n_rows] = block.reshape(N_COLUMNS, n_rows)


def unpack(block: np.ndarray) -> CandleArrays:
    """Split a (6, n) block into contiguous columns (the copies make each column contiguous)."""
    return CandleArrays(
        np.ascontiguousarray(block[0]).view(np.int64),
        *(np.ascontiguousarray(block[i]) for i in range(1, N_COLUMNS)),
    )


def decode(blob: bytes, codec: Codec, n_rows: int) -> CandleArrays:
    block = np.empty((N_COLUMNS, n_rows), dtype=np.float64)
    decode_into(blob, codec, n_rows, block, 0)
    return unpack(block)
