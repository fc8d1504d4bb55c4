"""The catalog's language: products, categories, money. Standard library only."""
