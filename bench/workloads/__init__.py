"""The timed workloads; each returns a dict of figures with its baseline and the ratio to it."""
