//! `server`: serves the built site and the feedback API. Configure with HOST, PORT,
//! VITRINE_DIST (config.rs), the public origin (public_origin.rs), timeouts and connection caps
//! (connections/limits.rs) and the feedback variables (feedback/settings.rs).

use anyhow::{Context, Result};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info")),
        )
        .init();
    let config = server::Config::from_env()?;
    let store = server::feedback::Store::connect(&config.feedback.database).await?;
    if config.feedback.admin_token.is_none() {
        tracing::warn!("VITRINE_ADMIN_TOKEN is not set: the insights API answers 401 to everyone");
    }
    if config.public_origin == server::public_origin::PublicOrigin::Listening(None) {
        tracing::warn!(
            "VITRINE_PUBLIC_URL is not set and the server listens on all interfaces: link \
             previews keep relative URLs (no picture in Slack, LinkedIn, …)"
        );
    }
    if let Some(days) = config.feedback.retention_days {
        server::feedback::retention::spawn(store.clone(), days);
    }
    let app = server::router(&config, store)?;
    // Every connection is a file descriptor: take all the process may have.
    let open_files = server::connections::fd_limit::raise();
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (is another server using the port? set PORT)",
                config.addr
            )
        })?;
    tracing::info!(
        "Vitrine is serving {} on http://{} (open-file limit {})",
        config.dist_dir.display(),
        config.addr,
        open_files.map_or("unknown".to_owned(), |n| n.to_string())
    );
    server::connections::serve(listener, app, &config.connections, shutdown_signal()).await;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM, letting in-flight requests finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing in-flight requests");
}
