"""Adapters and entry points: the embedded log, the bootstrap and the `hotline` CLI."""
