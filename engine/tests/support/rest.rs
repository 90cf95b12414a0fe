//! REST over `reqwest` as one account: requests with its Basic credentials, and each answer
//! as status, content type, headers and JSON body, with the problem checks every REST test
//! makes.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{Numpool, KEY, SECRET};

/// One answer: status, content type and the body as JSON (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Asserts this is a problem with `status` and `type` ending in `#anchor`.
    #[track_caller]
    pub fn problem(&self, status: u16, anchor: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{self:?}");
        assert_eq!(self.content_type, "application/problem+json", "{self:?}");
        let type_url = self.body["type"].as_str().unwrap_or_default();
        assert!(type_url.ends_with(&format!("#{anchor}")), "{self:?}");
        for field in ["title", "detail", "instance"] {
            assert!(self.body[field].is_string(), "{field} missing: {self:?}");
        }
        &self.body
    }

    /// Asserts this is the `422 #rejected` problem of a pick, its detail saying `why`.
    #[track_caller]
    pub fn assert_rejected(&self, why: &str) {
        let detail = self.problem(422, "rejected")["detail"]
            .as_str()
            .unwrap_or_default();
        assert!(detail.contains(why), "{why:?} not in {self:?}");
    }

    /// The `invalid_parameters` names.
    pub fn invalid_names(&self) -> Vec<String> {
        self.body["invalid_parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("no invalid_parameters: {self:?}"))
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// A client acting as one account.
pub struct Api {
    client: reqwest::Client,
    base: String,
    key: &'static str,
    secret: &'static str,
}

impl Api {
    pub fn new(server: &Numpool) -> Api {
        Api::as_account(server, KEY, SECRET)
    }

    pub fn as_account(server: &Numpool, key: &'static str, secret: &'static str) -> Api {
        Api {
            client: reqwest::Client::new(),
            base: server.base_url(),
            key,
            secret,
        }
    }

    /// `path` relative to this account (`/pools`), or absolute when it starts with `/v2` or is
    /// an ops path.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("/v2") || path == "/healthz" || path == "/metrics" {
            format!("{}{path}", self.base)
        } else {
            format!("{}/v2/numberpools/accounts/{KEY}{path}", self.base)
        }
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut request = self
            .client
            .request(method, self.url(path))
            .basic_auth(self.key, Some(self.secret));
        if let Some(body) = body {
            request = request.json(&body);
        }
        reply(request.send().await.expect("request")).await
    }

    pub async fn raw(&self, method: Method, path: &str, body: impl Into<reqwest::Body>) -> Reply {
        let request = self
            .client
            .request(method, self.url(path))
            .basic_auth(self.key, Some(self.secret))
            .header("content-type", "application/json")
            .body(body);
        reply(request.send().await.expect("request")).await
    }

    /// `POST` of `body` as `application/x-www-form-urlencoded`.
    pub async fn form(&self, path: &str, body: &str) -> Reply {
        let request = self
            .client
            .post(self.url(path))
            .basic_auth(self.key, Some(self.secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned());
        reply(request.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PATCH, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None).await
    }

    /// Creates a pool with the given extra fields; asserts 201.
    pub async fn create_pool(&self, pool_id: &str, extra: Value) -> Value {
        let mut body = json!({
            "pool_id": pool_id,
            "fallback": "Pool",
            "localized_sender_preferred": true,
            "predictable_sender_preferred": true,
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let reply = self.post("/pools", body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        reply.body
    }

    /// Owns `numbers`, creates pool `pool_id` with `settings` over the defaults of
    /// [`Api::create_pool`], and adds the numbers to it (201).
    pub async fn seed_pool(&self, pool_id: &str, settings: Value, numbers: &[&str]) {
        self.own(numbers).await;
        self.create_pool(pool_id, settings).await;
        let added = self
            .post(
                &format!("/pools/{pool_id}/numbers"),
                json!({ "numbers": numbers }),
            )
            .await;
        assert_eq!(added.status, StatusCode::CREATED, "{added:?}");
    }

    /// Puts `numbers` in the inventory; asserts success.
    pub async fn own(&self, numbers: &[&str]) {
        let items: Vec<Value> = numbers.iter().map(|n| json!({ "number": n })).collect();
        let reply = self.post("/numbers", json!({ "numbers": items })).await;
        assert!(reply.status.is_success(), "{reply:?}");
    }

    /// Everything this account has: pools (with settings) and each pool's numbers, and the
    /// inventory. Compared before and after a refused request.
    pub async fn snapshot(&self) -> Value {
        let pools = self.get("/pools?page_size=100").await.body["_embedded"]["pools"].clone();
        let mut numbers = Vec::new();
        for pool in pools.as_array().unwrap() {
            let id = pool["pool_id"].as_str().unwrap();
            let listed = self
                .get(&format!("/pools/{id}/numbers?page_size=100"))
                .await;
            numbers.push(listed.body["_embedded"]["numbers"].clone());
        }
        let inventory = self.get("/numbers?page_size=100").await.body["_embedded"].clone();
        json!({ "pools": pools, "numbers": numbers, "inventory": inventory })
    }
}

pub async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let content_type = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = response.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Reply {
        status,
        content_type,
        headers,
        body,
    }
}
