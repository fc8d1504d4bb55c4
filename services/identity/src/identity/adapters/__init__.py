"""Storage, password hashing, key material and token signing behind the service's ports."""
