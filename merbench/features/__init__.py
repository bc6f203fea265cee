"""Feature store layer: encode a corpus once per encoder, serve the cached features to every run."""
