"""Content: training, learning paths and certificates, marketing resources, co-branded
materials and branding."""
