"""Reviewing content changes: what changed between two commits of a mirror, field by
field and locale by locale, as people read it (text, Markdown, one HTML page) and as
tools read it (JSON). `changes` builds the change model from `git diff-tree` and the
files at both commits; the `render_*` modules only format it. Nothing here writes
to the mirror, and nothing imports click."""
