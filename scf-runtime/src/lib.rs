//! The function-side runtime for the SCF Custom Runtime API.
