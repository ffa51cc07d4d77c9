//! machi-web
