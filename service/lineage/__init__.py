"""Lineage: walking the item graph up (where did this come from) and down (what was made from this)."""
