//! Paged listings (DESIGN §5): the `page` / `page_size` query parameters and the HAL envelope
//! (`page`, `page_size`, `total_items`, `total_pages`, `_embedded`, `_links`) around one page.

use std::collections::HashMap;
use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::problem::Problem;
use crate::engine::Page;

/// Page size when the request gives none.
const DEFAULT_PAGE_SIZE: usize = 10;
/// Largest page; a larger `page_size` is served as this (the spec declares no 400 for listings).
const MAX_PAGE_SIZE: usize = 100;

/// Which page a listing request wants, and the path its links point back to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PageRequest {
    /// The request's path, as received, so links work behind any prefix the router saw.
    path: String,
    /// 1-based page number.
    page: usize,
    /// Items per page, 0 to [`MAX_PAGE_SIZE`].
    page_size: usize,
    /// A filter the listing applies (`sender=…`), kept in its links so that every page of it
    /// is the same listing; validated values only, which need no escaping.
    filter: Option<(&'static str, String)>,
}

impl FromRequest for PageRequest {
    type Error = Problem;
    type Future = Ready<Result<PageRequest, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(PageRequest::parse(req))
    }
}

impl PageRequest {
    fn parse(req: &HttpRequest) -> Result<Self, Problem> {
        let query = web::Query::<HashMap<String, String>>::from_query(req.query_string())
            .map_err(|e| Problem::invalid_field("query", e.to_string()))?;
        let page = match query.get("page") {
            None => 1,
            Some(text) => count(text).filter(|&page| page >= 1).ok_or_else(|| {
                Problem::invalid_field("page", "Must be an integer of at least 1")
            })?,
        };
        let page_size = match query.get("page_size") {
            None => DEFAULT_PAGE_SIZE,
            Some(text) => count(text)
                .ok_or_else(|| {
                    Problem::invalid_field("page_size", "Must be an integer of at least 0")
                })?
                .min(MAX_PAGE_SIZE),
        };
        Ok(PageRequest {
            path: req.path().to_owned(),
            page,
            page_size,
            filter: None,
        })
    }

    /// The same request, its links carrying the filter `name=value` (a validated value).
    pub(crate) fn keeping(self, name: &'static str, value: String) -> Self {
        PageRequest {
            filter: Some((name, value)),
            ..self
        }
    }

    /// The slice of the listing to ask the engine for.
    pub(crate) fn engine_page(&self) -> Page {
        Page {
            offset: (self.page - 1).saturating_mul(self.page_size),
            limit: self.page_size,
        }
    }

    /// The 200 answer: `items` (this page of a listing of `total`) under `_embedded.<key>`,
    /// with counts and links.
    pub(crate) fn respond<T: Serialize>(
        &self,
        key: &str,
        items: Vec<T>,
        total: usize,
    ) -> HttpResponse {
        let total_pages = match self.page_size {
            0 => 1,
            size => total.div_ceil(size).max(1),
        };
        let mut links = Map::new();
        links.insert("self".into(), self.link(self.page));
        links.insert("first".into(), self.link(1));
        links.insert("last".into(), self.link(total_pages));
        if self.page < total_pages {
            links.insert("next".into(), self.link(self.page + 1));
        }
        if self.page > 1 {
            links.insert("previous".into(), self.link(self.page - 1));
        }
        HttpResponse::Ok().json(json!({
            "page": self.page,
            "page_size": self.page_size,
            "total_items": total,
            "total_pages": total_pages,
            "_embedded": { key: items },
            "_links": links,
        }))
    }

    fn link(&self, page: usize) -> Value {
        let filter = match &self.filter {
            Some((name, value)) => format!("&{name}={value}"),
            None => String::new(),
        };
        json!({ "href": format!("{}?page={page}&page_size={}{filter}", self.path, self.page_size) })
    }
}

/// A non-negative integer in decimal digits. The spec sets no maximum, so a value too large for
/// `usize` is valid and means "past the end": it saturates instead of failing.
fn count(text: &str) -> Option<usize> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse().unwrap_or(usize::MAX))
}
