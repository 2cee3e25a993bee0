"""Producers: what turns outside input (files, HTTP) into validated facts on a log."""
