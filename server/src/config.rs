//! Server settings, all from the environment so `cargo xtask serve`, CI and a booth laptop
//! configure it the same way.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::{Context, Result};

#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen: `HOST` (default 127.0.0.1) and `PORT` (default 8080).
    pub addr: SocketAddr,
    /// The built site: `VITRINE_DIST` (default `dist`).
    pub dist_dir: PathBuf,
    /// Storage, admin token, retention, CORS and rate limit (see `feedback/settings.rs`).
    pub feedback: crate::feedback::Settings,
    /// The origin pages name in link previews and canonical links (see `public_origin.rs`).
    pub public_origin: crate::public_origin::PublicOrigin,
    /// Timeouts and connection caps (see `connections/limits.rs`).
    pub connections: crate::connections::Limits,
}

impl Config {
    pub fn from_env() -> Result<Self> {
        let host: IpAddr = match std::env::var("HOST") {
            Ok(h) => h
                .parse()
                .with_context(|| format!("HOST={h:?} is not an IP address"))?,
            Err(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        };
        let port: u16 = match std::env::var("PORT") {
            Ok(p) => p
                .parse()
                .with_context(|| format!("PORT={p:?} is not a port number (0-65535)"))?,
            Err(_) => 8080,
        };
        let dist_dir = std::env::var_os("VITRINE_DIST")
            .map(PathBuf::from)
            .unwrap_or_else(|| "dist".into());
        let addr = SocketAddr::new(host, port);
        let public_origin = crate::public_origin::PublicOrigin::from_lookup(
            |name| std::env::var(name).ok().filter(|v| !v.is_empty()),
            addr,
        )?;
        Ok(Self {
            addr,
            public_origin,
            dist_dir,
            feedback: crate::feedback::Settings::from_env()?,
            connections: crate::connections::Limits::from_env()?,
        })
    }
}
