"""Services shared by the pages and the CLI: I/O-bound steps composed from queries/ and analysis/."""
