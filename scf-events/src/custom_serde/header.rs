//! Header values that are one string or an array of strings.
