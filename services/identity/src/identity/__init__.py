"""Souk identity: accounts, passwords, access and refresh tokens, signing keys, the audit log."""
