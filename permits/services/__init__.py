"""The domain verbs. Services flush, never commit: the request (or CLI command) commits once."""
