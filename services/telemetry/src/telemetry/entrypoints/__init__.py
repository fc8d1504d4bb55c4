"""The HTTP API: OTLP ingest and trace search."""
