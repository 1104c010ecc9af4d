"""The Images API over the asset files a mirror keeps: `params.py` reads and writes its
query parameters (and turns GraphQL's `ImageTransformOptions` into them), `transform.py`
decodes, resizes and encodes an image within a memory budget, `cache.py` keeps results
on disk. `mirror.delivery.local_files` serves them at `/files/…?<parameters>`."""
