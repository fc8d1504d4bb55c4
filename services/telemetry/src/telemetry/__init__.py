"""Souk telemetry: the embedded default's OTLP/HTTP trace receiver and trace search."""
