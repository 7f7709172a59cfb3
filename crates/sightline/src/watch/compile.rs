//! Turns the `watch` argument into a graph: `@FILE` is graph JSON; anything else is an
//! expression, checked by the local parser first (so a typo is shown at once, with a caret)
//! and then compiled by the server, which knows each channel's type.

use anyhow::Context as _;
use serde_json::json;
use sightline_wire::scout_compute::ComputableNode;

/// The graph to subscribe to.
pub(crate) struct Source {
    pub(crate) node: ComputableNode,
}

pub(crate) async fn resolve(
    argument: &str,
    dataset: &str,
    http: &[String],
    token: Option<&str>,
) -> anyhow::Result<Source> {
    if let Some(path) = argument.strip_prefix('@') {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
        let node = sightline_wire::from_json::<ComputableNode>(&text)
            .with_context(|| format!("{path} is not a ComputableNode in upstream JSON"))?;
        return Ok(Source { node });
    }
    let local = sightline_expr::compile(argument, Some(dataset), &sightline_expr::NoCatalog)
        .map_err(|e| {
            anyhow::anyhow!(
                "invalid expression at {}:{}\n{}",
                e.line(),
                e.column(),
                e.caret(argument)
            )
        })?;
    for base in http {
        match server_compile(base, argument, dataset, token).await {
            Ok(node) => return Ok(Source { node }),
            Err(ServerCompile::Invalid {
                line,
                column,
                reason,
            }) => {
                let pad = " ".repeat(column.saturating_sub(1));
                let text = argument.lines().nth(line.saturating_sub(1)).unwrap_or("");
                anyhow::bail!("invalid expression at {line}:{column}\n{text}\n{pad}^ {reason}");
            }
            Err(ServerCompile::Unavailable(e)) => {
                tracing::debug!(%base, error = %e, "server compile unavailable");
            }
        }
    }
    // No server could type the channels: typed by use, which is right for numeric ones.
    Ok(Source { node: local.node })
}

enum ServerCompile {
    Invalid {
        line: usize,
        column: usize,
        reason: String,
    },
    Unavailable(String),
}

async fn server_compile(
    base: &str,
    expression: &str,
    dataset: &str,
    token: Option<&str>,
) -> Result<ComputableNode, ServerCompile> {
    let unavailable = |e: &dyn std::fmt::Display| ServerCompile::Unavailable(e.to_string());
    let mut request = reqwest::Client::new()
        .post(format!("{base}/sightline/v1/expressions/compile"))
        .timeout(std::time::Duration::from_secs(5))
        .json(&json!({"expression": expression, "dataset": dataset}));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|e| unavailable(&e))?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.map_err(|e| unavailable(&e))?;
    if status.is_success() {
        let node = serde_json::from_value(body["node"].clone()).map_err(|e| unavailable(&e))?;
        return Ok(node);
    }
    if body["errorName"] == "Sightline:InvalidExpression" {
        let param = |k: &str| {
            body["parameters"][k]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        return Err(ServerCompile::Invalid {
            line: param("line").parse().unwrap_or(1),
            column: param("column").parse().unwrap_or(1),
            reason: param("reason"),
        });
    }
    Err(ServerCompile::Unavailable(format!("HTTP {status}: {body}")))
}
