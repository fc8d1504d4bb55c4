"""The catalog's language: products, categories, money, cursors. Standard library only."""
