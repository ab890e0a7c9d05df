"""HTTP routes of the resources domain: thin, one service call each."""
