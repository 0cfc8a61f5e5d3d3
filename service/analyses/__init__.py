"""Analyses: characterisations of items, and electrochemistry calculators that store their result as one."""
