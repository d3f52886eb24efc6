"""newsum: clean, detect, translate and summarize news articles in batch."""

__version__ = "0.1.0"
