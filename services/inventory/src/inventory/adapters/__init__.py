"""Adapters: the SQL store over the chassis database, and the catalog client over HTTP."""
