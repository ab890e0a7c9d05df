"""Runtimes ("images") on the local backend: preset and custom Python environments."""
