"""The Content Delivery API over one revision of a space: one engine, served by the
emulator (over its sample or synthetic space) and by `mirror serve DIR` (over a
mirror at a Git revision). `content.py` says what the engine reads; `engine.py`
answers requests from it."""
