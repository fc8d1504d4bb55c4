"""OTLP decoding (protobuf and JSON) and the SQL trace store."""
