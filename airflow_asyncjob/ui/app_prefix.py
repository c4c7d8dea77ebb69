"""Where the plugin mounts its app on the API server (kept apart so the plugin imports nothing heavy)."""

PREFIX = "/netsuite-jobs"
