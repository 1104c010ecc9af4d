"""The GraphQL Content API over a mirror at one commit, served by `mirror serve DIR` beside
the REST API and through the same delivery engine. `names.py` and `model.py` turn the
content types into what the schema needs (Contentful's names, field kinds, collisions it
refuses), `builder.py` and `schema.py` build the schema (`inputs.py`: filters and orders,
`builtins.py`: the fixed types), `resolvers.py` (with `richtext.py`, `assets.py`,
`collections.py`, `filters.py` and the batched `loader.py`) answers from the engine and its
index, `limits.py` bounds a query before it runs, and `http.py` speaks the wire format."""
