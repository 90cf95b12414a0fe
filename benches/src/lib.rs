//! Criterion benches for numpool live in `benches/`; this library is empty.
