//! Where machi may send a request to an address a resident gave it (a webhook, a push
//! endpoint): the public internet over https only, never this machine or the city's own
//! network, unless the city allows private addresses (`--webhook-allow-private`, for receivers
//! inside its LGWAN). Otherwise the public subscribe form would let anyone make machi post
//! into the city hall's network or scan its ports (server-side request forgery).
//!
//! The rule holds for every connection, not only when the address is registered: a client
//! from [`client_builder`] resolves names to public addresses only, so a name that later points
//! inside (DNS rebinding) gets no connection, and redirects are never followed. Addresses
//! written as IP literals never reach a resolver, so [`check_url`] is asked before each send.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether an address is on the public internet: not this machine, not a private, shared,
/// link-local or unique-local range, not a special one.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                // 100.64.0.0/10, shared address space (carrier-grade NAT).
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                let first = v6.segments()[0];
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    // fc00::/7 unique local, fe80::/10 link local.
                    || (first & 0xfe00) == 0xfc00
                    || (first & 0xffc0) == 0xfe80)
            }
        },
    }
}

/// Why an address may not be sent to, in a word for logs and messages.
pub type Refusal = &'static str;

/// Whether `url` may be sent to without a lookup: https (any scheme when private addresses are
/// allowed) and, when its host is an IP literal, a public one.
pub fn check_url(url: &str, allow_private: bool) -> Result<(), Refusal> {
    let url = reqwest::Url::parse(url).map_err(|_| "not a URL")?;
    if allow_private {
        return matches!(url.scheme(), "https" | "http")
            .then_some(())
            .ok_or("not http(s)");
    }
    if url.scheme() != "https" {
        return Err("not https");
    }
    let host = url.host_str().ok_or("no host")?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let inside = match host.parse::<IpAddr>() {
        Ok(ip) => !is_public(ip),
        Err(_) => host.trim_end_matches('.').eq_ignore_ascii_case("localhost"),
    };
    match inside {
        true => Err("private address"),
        false => Ok(()),
    }
}

/// Resolves `url`'s host now and refuses it unless every address is public (or private ones
/// are allowed): the check a registration makes before it answers the resident.
pub async fn check_reachable(url: &str, allow_private: bool) -> Result<(), Refusal> {
    check_url(url, allow_private)?;
    if allow_private {
        return Ok(());
    }
    let parsed = reqwest::Url::parse(url).map_err(|_| "not a URL")?;
    let (Some(host), Some(port)) = (parsed.host_str(), parsed.port_or_known_default()) else {
        return Err("no host");
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<IpAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| "DNS")?
        .map(|a| a.ip())
        .collect();
    if addresses.is_empty() || !addresses.iter().copied().all(is_public) {
        return Err("private address");
    }
    Ok(())
}

/// The system's resolver, keeping public addresses only.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let public: Vec<SocketAddr> = found.filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                let refused: Box<dyn std::error::Error + Send + Sync> =
                    format!("{} has no public address", name.as_str()).into();
                return Err(refused);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// A client for addresses residents give: no redirects, and unless `allow_private`, names
/// resolve to public addresses only.
pub fn client_builder(allow_private: bool) -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    match allow_private {
        true => builder,
        false => builder.dns_resolver(Arc::new(PublicOnly)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_citys_own_network_is_not_public() {
        for private in [
            "10.1.2.3",
            "192.168.0.10",
            "172.16.5.5",
            "127.0.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["8.8.8.8", "133.242.0.1", "2001:4860:4860::8888"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn only_https_to_the_public_internet_unless_private_is_allowed() {
        for refused in [
            "https://10.0.0.5/hook",
            "https://127.0.0.1:8443/hook",
            "https://localhost/hook",
            "https://[::1]:22/",
            "http://127.0.0.1:9000/hook",
            "http://localhost:5432/",
            "http://school.example.jp/hook",
            "ftp://example.jp/",
        ] {
            assert!(check_reachable(refused, false).await.is_err(), "{refused}");
        }
        assert!(check_reachable("https://8.8.8.8/hook", false).await.is_ok());
        assert!(check_reachable("https://10.0.0.5/hook", true).await.is_ok());
        assert!(check_reachable("http://127.0.0.1:9000/hook", true)
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn a_name_that_resolves_inside_gets_no_connection() {
        let client = client_builder(false).build().unwrap();
        let error = client.get("https://localhost:1/").send().await.unwrap_err();
        assert!(
            format!("{error:?}").contains("no public address"),
            "{error:?}"
        );
    }
}
