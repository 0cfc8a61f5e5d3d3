"""Lots, batches and cells: receiving, correcting, voiding and their history."""
