//! The city's VAPID key pair (RFC 8292), made once per city and kept in the database, so that
//! every node signs Web Push requests with the key the browsers subscribed with.

use serde::{Deserialize, Serialize};
use web_push::VapidSignatureBuilder;

use crate::{Result, Store, StoreError};

/// A city's VAPID key pair, base64url without padding as browsers and web-push want it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VapidKeys {
    pub private: String,
    pub public: String,
}

impl Store {
    /// The city's VAPID keys, made on first use.
    pub async fn vapid_keys(&self, tenant: &str) -> Result<VapidKeys> {
        let stored = self
            .tenant_key(tenant, "vapid", || {
                serde_json::to_string(&new_vapid_keys()).unwrap_or_default()
            })
            .await?;
        serde_json::from_str(&stored)
            .map_err(|e| StoreError::Corrupt(format!("stored VAPID keys: {e}")))
    }
}

/// A new P-256 key pair: 32 random bytes are a valid private key but for a negligible few,
/// which web-push refuses and the loop replaces.
fn new_vapid_keys() -> VapidKeys {
    loop {
        let private = b64(&rand::random::<[u8; 32]>());
        if let Ok(builder) = VapidSignatureBuilder::from_base64_no_sub(&private) {
            return VapidKeys {
                public: b64(&builder.get_public_key()),
                private,
            };
        }
    }
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
