//! numpool
