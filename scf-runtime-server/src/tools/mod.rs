//! Build, verify, package and scaffold tools behind `scf build|package|new`.
