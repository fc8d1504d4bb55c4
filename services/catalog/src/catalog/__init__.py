"""Souk catalog: products, categories and prices, served read-heavy over HTTP."""
