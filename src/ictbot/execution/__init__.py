"""Order execution on the venue: the hygienic client, the user-data stream, the order manager and reconciliation."""
