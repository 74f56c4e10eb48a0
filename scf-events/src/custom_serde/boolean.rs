//! Booleans that arrive as a JSON bool or as the strings `"true"` / `"false"`.
