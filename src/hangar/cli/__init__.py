"""The ``hangar`` command line."""
