//! Query-string values: a string, an array of strings (a repeated key) or `true` (a key without `=`).
