"""Instruments: cyclers and their channels, gloveboxes, balances, ovens, coaters, and their calibrations."""
