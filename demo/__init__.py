"""The demo: generated application traffic and the whole pipeline on in-memory adapters."""
