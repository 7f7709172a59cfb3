//! The live web page at `/`: static files embedded in the binary (no build step, no CDN).
//!
//! The page (`crates/server/web/`) talks to the server only through the public API: channel
//! search, the dataset endpoints, the expression endpoint and the persistent-compute
//! WebSocket. Its scripts are plain files loaded in order: `merge.js` (window state of
//! PROTOCOL §4), `connection.js` (socket, reconnects, shutdown notice), `plot.js` (canvas
//! drawing), `app.js` (panels, controls, layout in the URL).

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const INDEX: &str = include_str!("../web/index.html");

const ASSETS: &[Asset] = &[
    Asset {
        name: "style.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../web/style.css"),
    },
    Asset {
        name: "merge.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../web/merge.js"),
    },
    Asset {
        name: "connection.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../web/connection.js"),
    },
    Asset {
        name: "plot.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../web/plot.js"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../web/app.js"),
    },
];

/// Routes of the page. They read nothing from the store, so they need no token: the page
/// asks for one when the API it calls answers 401.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/ui/{file}", get(asset))
}

fn file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // The files change only with the binary; revalidating keeps an upgraded
            // server's page consistent without a hard reload.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn index() -> Response {
    file("text/html; charset=utf-8", INDEX)
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(a) => file(a.content_type, a.body),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
