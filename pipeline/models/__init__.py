"""Loading seq2seq models (id or path, revision, device, backend), the local store, pull and check."""
