"""Use cases: ingest a batch of spans, search traces, fetch one as a tree, prune."""
