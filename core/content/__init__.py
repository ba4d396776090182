"""Content: training, marketing resources, co-branded materials and branding."""
