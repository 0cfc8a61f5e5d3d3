"""The cellprov Python client (httpx), its configuration and the `cellprov` command line."""
