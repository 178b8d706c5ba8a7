"""The goods catalog 1C uploads: goods groups (a tree), brands, goods with their barcodes, and
the resolution of receipt lines to what the catalog knows of their goods."""
