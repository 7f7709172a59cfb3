//! `POST /data-source/v1/data-sources/search-channels`: upstream channel search over every
//! dataset in the store, with fuzzy text, exact-match terms, data source and data type
//! filters, and paging by an opaque token.

use super::read_json;
use crate::app::App;
use crate::discovery::{self, Query};
use crate::error::{blocking, ApiError, DiscoveryError};
use axum::body::Body;
use axum::extract::State;
use axum::Json;
use sightline_wire::datasource::{ChannelMetadata, SearchChannelsRequest, SearchChannelsResponse};
use sightline_wire::scout_run::Unit;
use std::sync::Arc;

/// Results per page when the request names no `pageSize` (upstream's default and maximum).
const MAX_PAGE_SIZE: i32 = 1000;

/// `POST /data-source/v1/data-sources/search-channels`.
pub(crate) async fn search_channels(
    State(app): State<Arc<App>>,
    caller: crate::auth::Caller,
    body: Body,
) -> Result<Json<SearchChannelsResponse>, ApiError> {
    let req: SearchChannelsRequest =
        read_json(body, app.config.max_body_bytes, "SearchChannelsRequest").await?;
    let page_size = match req.page_size {
        None => MAX_PAGE_SIZE,
        Some(size) if (1..=MAX_PAGE_SIZE).contains(&size) => size,
        Some(size) => {
            return Err(DiscoveryError::PageSize {
                size,
                max: MAX_PAGE_SIZE,
            }
            .into())
        }
    };
    let offset = match &req.next_page_token {
        None => 0,
        Some(token) => token
            .parse::<usize>()
            .map_err(|_| DiscoveryError::PageToken {
                token: token.clone(),
            })?,
    };
    let store = app.store.clone();
    let response = blocking(move || {
        let query = Query {
            fuzzy: &req.fuzzy_search_text,
            prefix: req.prefix.as_deref(),
            exact: &req.exact_match,
            data_types: &req.data_types,
            previously_selected: req.previously_selected_channels.as_ref(),
        };
        // Only channels of datasets the caller may read are found at all.
        let ranked: Vec<_> = discovery::rank(
            discovery::candidates(store.as_ref(), &req.data_sources),
            &query,
        )
        .into_iter()
        .filter(|c| caller.can_read(&c.dataset))
        .collect();
        let end = offset.saturating_add(page_size as usize);
        let next_page_token = (ranked.len() > end).then(|| end.to_string());
        let results = ranked
            .into_iter()
            .skip(offset)
            .take(page_size as usize)
            .map(|c| ChannelMetadata {
                name: c.channel.to_string(),
                data_source: c.dataset.to_string(),
                unit: c.unit.map(|symbol| Unit {
                    name: None,
                    symbol: symbol.to_string(),
                }),
                description: None,
                data_type: Some(c.data_type),
                series_rid: None,
            })
            .collect();
        Ok(SearchChannelsResponse {
            results,
            next_page_token,
        })
    })
    .await?;
    Ok(Json(response))
}
