"""Assets (spec 07): the platform's own storage (content-addressed blobs and per-version
manifests), and on top of it models, datasets, code packages and images. See
docs/assets.md."""
