//! numpool-snapshots (under construction)
