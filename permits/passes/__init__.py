"""Passes: the signed PP1 QR token (token.py) and what is built around it."""
