"""The abstractive model's input when a text is longer than it: the sentences that matter.

Map-reduce reads all of a long text, at the price of one generation per chunk and then
more over the chunk summaries; a news article's summary rests on a few of its sentences.
With `summarize.long_input: select`, a text that does not fit the model's input is replaced
by its most relevant sentences (the extractive ranking: centroid, title, forward centrality,
lead), as many as fit, in the order of the text, and summarized in one generation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence


def fit_sentences(texts: Sequence[str], scores: Sequence[float], count_tokens: Callable[[str], int],
                  limit: int) -> list[int]:
    """Indices of the best-scoring texts whose concatenation fits `limit` tokens, in text order.

    Sentences are taken best first while their tokens (each counted alone, less the special
    tokens every count includes) fit; the concatenation is then counted as a whole and the
    weakest taken sentence dropped until it fits. At least the best sentence is kept (a
    sentence longer than the input on its own is cut by the caller's chunking)."""
    if not texts:
        return []
    overhead = count_tokens("")
    order = sorted(range(len(texts)), key=lambda i: (-scores[i], i))
    taken: list[int] = []
    used = overhead
    for i in order:
        cost = max(0, count_tokens(texts[i]) - overhead)
        if used + cost <= limit:
            taken.append(i)
            used += cost
    if not taken:
        return [order[0]]
    while len(taken) > 1 and count_tokens(" ".join(texts[i] for i in sorted(taken))) > limit:
        taken.pop()  # the weakest: taken best first
    return sorted(taken)
