"""Support tickets between partners and staff."""
