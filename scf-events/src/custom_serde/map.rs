//! Map fields that may arrive as `null`.
