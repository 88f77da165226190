"""MinHash signatures and LSH banding over word shingles, vectorized with numpy. Pure.

MinHash (Broder 1997) estimates the Jaccard similarity of two shingle sets as the fraction of
hash permutations on which their minima agree. LSH banding (Indyk & Motwani 1998; Leskovec,
Rajaraman & Ullman, *Mining of Massive Datasets*, ch. 3.4) splits the signature into ``b`` bands
of ``r`` rows; two documents become candidates when any band is identical, which happens with
probability ``1 - (1 - s^r)^b`` for Jaccard ``s``: an S-curve whose midpoint is near
``(1/b)^(1/r)``. With 128 permutations as 32 bands of 4 rows that is about 0.42, below the
verification threshold, so true near-copies are rarely missed and the exact Jaccard estimate of
the full signature decides.

Permutations are universal hashes ``(a*x + b) mod p`` with the Mersenne prime ``p = 2^61 - 1``
applied to 32-bit CRC shingle hashes; products stay below 2^93 in theory, so they are computed
as ``((a_hi*x mod p) * 2^32 + a_lo*x) mod p`` in uint64 without overflow.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

_WORD = re.compile(r"\w+", re.UNICODE)
_MERSENNE = np.uint64((1 << 61) - 1)
_MASK32 = np.uint64(0xFFFFFFFF)

Signature = npt.NDArray[np.uint64]


def words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def shingles(text: str, size: int = 5) -> set[str]:
    """Word n-grams; a text shorter than ``size`` words is one shingle of all its words."""
    tokens = words(text)
    if len(tokens) < size:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def _mulmod(a: npt.NDArray[np.uint64], x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """(a * x) mod (2^61 - 1) for a < 2^61 and x < 2^32, without uint64 overflow."""
    a_hi, a_lo = a >> np.uint64(32), a & _MASK32
    hi = (a_hi * x) % _MERSENNE  # < 2^29 * 2^32 fits
    return ((hi << np.uint64(32)) % _MERSENNE + (a_lo * x) % _MERSENNE) % _MERSENNE


class MinHasher:
    """Signatures of a fixed family of permutations; the same seed gives the same family
    in every replica, which is what makes signatures comparable across processes."""

    def __init__(self, num_perm: int = 128, *, seed: int = 1, shingle_size: int = 5) -> None:
        rng = np.random.default_rng(seed)
        self.num_perm = num_perm
        self.shingle_size = shingle_size
        self._a = rng.integers(1, (1 << 61) - 1, size=num_perm, dtype=np.uint64)[:, None]
        self._b = rng.integers(0, (1 << 61) - 1, size=num_perm, dtype=np.uint64)[:, None]

    def signature(self, text: str) -> Signature:
        return self.signature_of(shingles(text, self.shingle_size))

    def signature_of(self, items: Iterable[str]) -> Signature:
        hashes = np.fromiter((zlib.crc32(s.encode("utf-8")) for s in items), dtype=np.uint64)
        if hashes.size == 0:
            return np.full(self.num_perm, np.iinfo(np.uint64).max, dtype=np.uint64)
        permuted = (_mulmod(self._a, hashes[None, :]) + self._b) % _MERSENNE
        signature: Signature = permuted.min(axis=1)
        return signature


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
