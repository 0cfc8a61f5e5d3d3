"""Steps: logging a performed process, its inputs, its outputs and the inventory it consumes."""
