//! machi-store
