//! A pool's conversations (DESIGN §3.6, §5) against the real binary: `GET …/pools/{p}/sticky`
//! pages through every live mapping once, in an order that stays put between calls, `?sender=`
//! narrows to one number and agrees with the counts `GET …/numbers/{n}` and the inventory give;
//! each mapping's `since` survives a restart from the journal and from a snapshot.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::rest::Api;
use support::{pick, Numpool};

const FIRST: &str = "447700900001";
const SECOND: &str = "447700900002";

fn recipient(i: usize) -> String {
    format!("4474001{i:05}")
}

/// Every page of a listing at `path` (with `page_size`), in order, following `next` links.
async fn all_pages(api: &Api, path: &str, page_size: usize) -> (Vec<Value>, Value) {
    let separator = if path.contains('?') { '&' } else { '?' };
    let mut next = Some(format!("{path}{separator}page_size={page_size}"));
    let mut items = Vec::new();
    let mut first = Value::Null;
    while let Some(at) = next {
        let page = api.get(&at).await;
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        items.extend(
            page.body["_embedded"]["conversations"]
                .as_array()
                .unwrap()
                .iter()
                .cloned(),
        );
        next = page.body["_links"]["next"]["href"].as_str().map(|href| {
            let (_, query) = href.split_once('?').unwrap();
            format!("/pools/p/sticky?{query}")
        });
        if first.is_null() {
            first = page.body;
        }
    }
    (items, first)
}

#[tokio::test]
async fn a_pools_conversations_are_listed_once_each_in_a_stable_order() {
    let mut server = Numpool::start(&[]);
    let api = Api::new(&server);
    api.seed_pool("p", json!({}), &[FIRST, SECOND]).await;
    let mut con = server.sidecar();
    let picked: BTreeMap<String, String> = (0..30)
        .map(|i| (recipient(i), pick(&mut con, "p", &recipient(i)).unwrap()))
        .collect();

    let (listed, first_page) = all_pages(&api, "/pools/p/sticky", 7).await;
    assert_eq!(
        (&first_page["total_items"], &first_page["total_pages"]),
        (&json!(30), &json!(5))
    );
    let by_recipient: BTreeMap<String, String> = listed
        .iter()
        .map(|c| {
            assert!(c["since"].as_str().unwrap() <= c["last_use"].as_str().unwrap());
            (
                c["to"].as_str().unwrap().to_owned(),
                c["from"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(listed.len(), 30, "no conversation listed twice");
    assert_eq!(by_recipient, picked, "every conversation, on its sender");
    let (again, _) = all_pages(&api, "/pools/p/sticky", 7).await;
    let order = |items: &[Value]| -> Vec<String> {
        items
            .iter()
            .map(|c| c["to"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(order(&again), order(&listed), "the same order twice");

    // One sender's: the counts the pool's and the inventory's number objects give.
    let on_first = picked.values().filter(|s| *s == FIRST).count();
    let (narrowed, first_page) =
        all_pages(&api, &format!("/pools/p/sticky?sender={FIRST}"), 4).await;
    assert_eq!(first_page["total_items"], on_first);
    if on_first > 4 {
        let next = first_page["_links"]["next"]["href"].as_str().unwrap();
        assert!(next.ends_with(&format!("sender={FIRST}")), "{next}");
    }
    let narrowed: BTreeSet<&str> = narrowed
        .iter()
        .map(|c| c["from"].as_str().unwrap())
        .collect();
    assert!(narrowed.iter().all(|s| *s == FIRST), "{narrowed:?}");
    let member = api.get(&format!("/pools/p/numbers/{FIRST}")).await;
    assert_eq!(member.body["conversations"], on_first, "{member:?}");
    let owned = api.get(&format!("/numbers/{FIRST}")).await;
    assert_eq!(owned.body["conversations"]["p"], on_first, "{owned:?}");

    // A number the pool does not hold has none; a malformed one is a 400; so is an unknown
    // pool a 404.
    let stranger = api.get("/pools/p/sticky?sender=447700900999").await;
    assert_eq!(stranger.body["total_items"], 0);
    let bad = api.get("/pools/p/sticky?sender=abc").await;
    bad.problem(400, "validation");
    assert_eq!(bad.invalid_names(), ["sender"]);
    api.get("/pools/nope/sticky")
        .await
        .problem(404, "not-found");

    // A deleted mapping leaves the listing.
    let gone = api
        .delete(&format!("/pools/p/sticky/{}", recipient(0)))
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let (after, _) = all_pages(&api, "/pools/p/sticky", 100).await;
    assert_eq!(after.len(), 29);

    // Made a second later than the others, so `since` tells them apart.
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    let late = recipient(99);
    pick(&mut con, "p", &late).unwrap();
    let (after, _) = all_pages(&api, "/pools/p/sticky", 100).await;
    let since = |items: &[Value], to: &str| {
        let found = items.iter().find(|c| c["to"] == to).unwrap();
        found["since"].as_str().unwrap().to_owned()
    };
    assert!(since(&after, &late) > since(&after, &recipient(1)));

    // The whole listing, `since` and `last_use` included, comes back after a crash (from the
    // journal) and after a clean stop (from its final snapshot).
    server.crash_and_restart();
    let api = Api::new(&server);
    let (replayed, _) = all_pages(&api, "/pools/p/sticky", 100).await;
    assert_eq!(replayed, after, "from the journal");
    server.restart();
    let api = Api::new(&server);
    let (restored, _) = all_pages(&api, "/pools/p/sticky", 100).await;
    assert_eq!(restored, after, "from the snapshot");
}
