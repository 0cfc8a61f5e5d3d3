"""Provenance exports of one item: its lineage as W3C PROV-JSON or as an ELN Consortium .eln archive."""
