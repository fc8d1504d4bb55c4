"""Identity's HTTP API."""
