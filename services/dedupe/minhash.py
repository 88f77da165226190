"""MinHash signatures and LSH banding over word shingles, vectorized with numpy. Pure.

MinHash (Broder 1997) estimates the Jaccard similarity of two shingle sets as the fraction of
hash permutations on which their minima agree. LSH banding (Indyk & Motwani 1998; Leskovec,
Rajaraman & Ullman, *Mining of Massive Datasets*, ch. 3.4) splits the signature into ``b`` bands
of ``r`` rows; two documents become candidates when any band is identical, which happens with
probability ``1 - (1 - s^r)^b`` for Jaccard ``s``: an S-curve whose midpoint is near
``(1/b)^(1/r)``. With 128 permutations as 32 bands of 4 rows that is about 0.42, below the
verification threshold, so true near-copies are rarely missed and the exact Jaccard estimate of
the full signature decides.

The hash family: multiply-add-shift
-----------------------------------
Each "permutation" ``j`` hashes a 32-bit shingle key ``x`` to 32 bits with

    h_j(x) = ((a_j * x + b_j) mod 2^64) >> 32,    a_j, b_j uniform 64-bit,

the multiply-add-shift scheme of Dietzfelbinger ("Universal hashing and k-wise independent
random variables via integer arithmetic without primes", STACS 1996), which is strongly
universal (2-independent) for keys of up to 33 bits; see also Thorup, "High speed hashing for
integers and strings" (2015, arXiv:1504.06804). That is the same independence as the textbook
``(a*x + b) mod p`` family with the Mersenne prime ``2^61 - 1`` used before, but the ``mod 2^64``
is numpy's uint64 wrap-around: no reduction at all, where the prime family needed a 96-bit
product split into halves and four full-matrix ``%`` passes, ~37% of the dedupe service's CPU.
Since ``>> 32`` is monotone, the minimum is taken on the 64-bit values and only the ``k``
minima are shifted, so the 128 x n_shingles matrix costs one multiply, one add and one min.

2-independence is not min-wise independence: in the worst case a 2-independent family biases
MinHash (Pătrașcu & Thorup, ICALP 2010), and multiply-shift in particular does on keys with
arithmetic structure such as runs of consecutive integers (Dahlgaard, Knudsen & Thorup,
"Practical hash functions for similarity estimation and dimensionality reduction", NeurIPS
2017). Shingle keys here are themselves random-looking hashes of word sequences, and the unit
tests check estimates against the exact Jaccard of real texts and pin the family's output.

Shingle keys
------------
Each word is hashed once (CRC-32, cached across articles) and a shingle of words ``w_0..w_{k-1}``
gets the vector multiply-add-shift key ``((sum_i m_i * crc(w_i) + c_k) mod 2^64) >> 32`` (also
strongly universal, Thorup 2015), computed for all windows at once with a few array operations
instead of joining and CRC-ing one string per shingle. The per-length offset ``c_k`` keeps
sequences of different lengths apart (a text shorter than the shingle size is one shingle of all
its words).

Determinism: ``a``, ``b``, ``m`` and ``c`` come from SplitMix64 (Steele, Lea & Flood, "Fast
splittable pseudorandom number generators", OOPSLA 2014) in Python integers, so the family is a
function of the seed alone: numpy's ``Generator`` methods may change their streams between
releases (NEP 19), and replicas must produce byte-identical signatures.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from typing import Final

import numpy as np
import numpy.typing as npt

_WORD: Final = re.compile(r"\w+", re.UNICODE)
_MASK64: Final = (1 << 64) - 1
_GOLDEN_GAMMA: Final = 0x9E3779B97F4A7C15
_SHIFT: Final = np.uint64(32)
NUM_PERM: Final = 128
"""Permutations (signature length) unless told otherwise (``WIREDESK_NUM_PERM``)."""
SEED: Final = 1
"""The permutation family's seed unless told otherwise (``WIREDESK_MINHASH_SEED``)."""
SHINGLE_SIZE: Final = 5
"""Words per shingle unless told otherwise (``WIREDESK_SHINGLE_SIZE``)."""
# Parameter streams of one seed: (a_j, b_j) interleaved, word multipliers m_i, length offsets c_k.
_PERMUTATIONS, _MULTIPLIERS, _OFFSETS = 0, 1, 2

Signature = npt.NDArray[np.uint64]
_Array = npt.NDArray[np.uint64]


def words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def shingles(text: str, size: int = SHINGLE_SIZE) -> set[str]:
    """Word n-grams; a text shorter than ``size`` words is one shingle of all its words."""
    tokens = words(text)
    if len(tokens) < size:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def _splitmix64(state: int) -> int:
    """The SplitMix64 output for generator state ``state`` (before its increment)."""
    z = (state + _GOLDEN_GAMMA) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def _parameter(seed: int, stream: int, index: int) -> int:
    """Element ``index`` of the SplitMix64 sequence of ``(seed, stream)``: random access, so a
    multiplier or offset for any position or length can be computed on its own."""
    start = _splitmix64(_splitmix64(seed & _MASK64) ^ stream)
    return _splitmix64((start + index * _GOLDEN_GAMMA) & _MASK64)


class _WordHashes(dict[str, int]):
    """CRC-32 of words, memoized: most tokens of an article are common words seen before, so
    this halves the cost of hashing them (~55 -> ~27 us an article). Cleared when full rather
    than LRU: it only saves time, and refilling after a clear costs a few articles' misses."""

    limit: Final = 1 << 16

    def __missing__(self, word: str) -> int:
        if len(self) >= self.limit:
            self.clear()
        value = self[word] = zlib.crc32(word.encode("utf-8"))
        return value


_WORD_HASHES: Final = _WordHashes()


class MinHasher:
    """Signatures of a fixed family of permutations; the same seed gives the same family
    in every replica, which is what makes signatures comparable across processes."""

    def __init__(
        self, num_perm: int = NUM_PERM, *, seed: int = SEED, shingle_size: int = SHINGLE_SIZE
    ) -> None:
        self.num_perm = num_perm
        self.shingle_size = shingle_size
        self._seed = seed
        params = [_parameter(seed, _PERMUTATIONS, i) for i in range(2 * num_perm)]
        self._a: _Array = np.array(params[0::2], dtype=np.uint64)[:, None]
        self._b: _Array = np.array(params[1::2], dtype=np.uint64)[:, None]
        self._m = [_parameter(seed, _MULTIPLIERS, i) for i in range(shingle_size)]
        self._c = [_parameter(seed, _OFFSETS, k) for k in range(shingle_size + 1)]
        # 1-element arrays, not numpy scalars: array arithmetic wraps mod 2^64 silently, as
        # intended, where scalar arithmetic warns about the overflow.
        self._m_arrays = [np.array([m], dtype=np.uint64) for m in self._m]
        self._c_arrays = [np.array([c], dtype=np.uint64) for c in self._c]

    def _multiplier(self, position: int) -> int:
        if position < len(self._m):
            return self._m[position]
        return _parameter(self._seed, _MULTIPLIERS, position)

    def _offset(self, length: int) -> int:
        if length < len(self._c):
            return self._c[length]
        return _parameter(self._seed, _OFFSETS, length)

    def signature(self, text: str) -> Signature:
        """Equal to ``signature_of(shingles(text, shingle_size))``, without building strings."""
        tokens = words(text)
        if not tokens:
            return self._empty()
        hashes: _Array = np.fromiter(
            map(_WORD_HASHES.__getitem__, tokens), dtype=np.uint64, count=len(tokens)
        )
        width = min(self.shingle_size, len(tokens))
        count = len(tokens) - width + 1
        keys = hashes[:count] * self._m_arrays[0]
        for i in range(1, width):
            keys += hashes[i : i + count] * self._m_arrays[i]
        keys += self._c_arrays[width]
        keys >>= _SHIFT
        return self._minima(keys)

    def signature_of(self, items: Iterable[str]) -> Signature:
        """Signature of arbitrary strings, each keyed as the sequence of its space-separated
        words, so a set of shingles gets the same signature as the text it came from."""
        keys = np.fromiter((self._key(item) for item in items), dtype=np.uint64)
        if keys.size == 0:
            return self._empty()
        return self._minima(keys)

    def _key(self, item: str) -> int:
        tokens = item.split(" ")
        total = self._offset(len(tokens))
        for position, token in enumerate(tokens):
            total += self._multiplier(position) * _WORD_HASHES[token]
        return (total & _MASK64) >> 32

    def _minima(self, keys: _Array) -> Signature:
        """Per-permutation minimum of ``h_j`` over the 32-bit keys (see the module docstring)."""
        products = self._a * keys[None, :]
        products += self._b
        signature: Signature = products.min(axis=1)
        signature >>= _SHIFT
        return signature

    def _empty(self) -> Signature:
        """No shingles: a value no hash reaches, so an empty text never matches a real one."""
        return np.full(self.num_perm, np.iinfo(np.uint64).max, dtype=np.uint64)


def jaccard(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity: the share of agreeing permutation minima."""
    return float(np.count_nonzero(a == b)) / float(a.size)


def band_keys(signature: Signature, bands: int) -> list[bytes]:
    """One hashable key per band; equal keys in a band make two documents LSH candidates."""
    rows = signature.size // bands
    return [
        index.to_bytes(2, "big") + signature[index * rows : (index + 1) * rows].tobytes()
        for index in range(bands)
    ]
