"""The rules of identity in plain Python: accounts, passwords, tokens, throttling, keys."""
