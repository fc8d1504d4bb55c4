"""Spans, trace summaries and trace trees: plain Python, no I/O."""
