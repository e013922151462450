"""Running an environment on a laptop: the same image digest, variable names, Varnish
configuration and database major version, in a compose project."""
